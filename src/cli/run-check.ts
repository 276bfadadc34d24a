/**
 * `muster check`: everything that can be known without a host. Roles (schema, run lists),
 * recipes (type-check with tsc, compile with esbuild, run the compile phase for each role, which
 * validates every prop and renders every template with its variables), and the syntax of every
 * template. All problems are printed at once.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { compileRecipes } from "../config/compile-recipes.ts";
import { loadConfigRepo } from "../config/repo.ts";
import { InputError } from "../core/errors.ts";
import { exec } from "../host/exec.ts";
import { compileTemplate } from "../resources/template-render.ts";
import { compileRun } from "../runner/compile.ts";
import { ADD_TYPESCRIPT, findTsc } from "./find-tsc.ts";
import { musterPackageRoot, PACKAGE_NAME } from "./package-root.ts";

export interface CheckFlags {
  repo: string;
  role?: string;
  /**
   * true (--typecheck): a missing TypeScript compiler is a problem; false (--no-typecheck): no
   * type-check; undefined: type-check when a compiler is there, else a warning says how to add one
   */
  typecheck?: boolean;
}

/** Prints problems and a summary; returns how many problems were found. */
export async function runCheck(flags: CheckFlags): Promise<number> {
  const problems = await collectProblems(flags);
  for (const p of problems) process.stderr.write(`muster: ${p}\n`);
  if (problems.length === 0) process.stdout.write(`muster check: ${flags.repo}: ok\n`);
  else
    process.stderr.write(`muster check: ${problems.length} problem${problems.length > 1 ? "s" : ""} found\n`);
  return problems.length;
}

export async function collectProblems(flags: CheckFlags): Promise<string[]> {
  const problems: string[] = [];
  const repo = loadConfigRepo(flags.repo, problems); // a repo that cannot be read at all throws: exit 2
  problems.push(...templateProblems(repo.dir));
  if (flags.typecheck !== false)
    problems.push(...(await typeCheck(repo.dir, [...repo.recipeFiles.values()], flags.typecheck === true)));
  let recipes: Awaited<ReturnType<typeof compileRecipes>>;
  try {
    recipes = await compileRecipes(repo);
  } catch (err) {
    if (err instanceof InputError) return [...problems, ...err.problems];
    throw err;
  }
  const roles = flags.role ? [flags.role] : [...repo.roles.keys()];
  for (const role of roles) {
    const file = repo.roles.get(role)?.file;
    if (file && problems.some((p) => p.startsWith(`${file}:`))) continue; // already reported
    try {
      compileRun({ repo, recipes, role, node: { hostname: "check", root: "/" } });
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      for (const p of err.problems) if (!problems.includes(p)) problems.push(p);
    }
  }
  return problems;
}

function templateProblems(dir: string): string[] {
  const tdir = path.join(dir, "templates");
  if (!existsSync(tdir)) return [];
  const problems: string[] = [];
  for (const rel of readdirSync(tdir, { recursive: true }) as string[]) {
    if (!rel.endsWith(".eta")) continue;
    try {
      compileTemplate(dir, rel);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return problems;
}

/**
 * Type-check the recipes with the TypeScript compiler (TS 7 has no JS API, so its binary runs on
 * a generated tsconfig that maps "muster" and "muster-fleet" to muster's own types). Without a
 * compiler or muster's sources, the step is skipped with a warning, or is a problem when demanded.
 */
async function typeCheck(repoDir: string, files: string[], demanded: boolean): Promise<string[]> {
  if (files.length === 0) return [];
  const pkg = musterPackageRoot();
  const tsc = findTsc(repoDir, pkg, process.env.PATH);
  // the release archive carries the bundle only; a source checkout or the npm package has src/
  const types = [pkg, path.join(repoDir, "node_modules", PACKAGE_NAME)]
    .map((dir) => path.join(dir, "src/index.ts"))
    .find((f) => existsSync(f));
  if (!tsc || !types) {
    const missing = !tsc
      ? `no TypeScript compiler (the config repository's node_modules/typescript, or tsc on PATH); add one with \`${ADD_TYPESCRIPT}\` in ${repoDir}`
      : `this muster has no TypeScript sources to check recipes against (a release archive); add them with \`npm install --save-dev ${PACKAGE_NAME}\` in ${repoDir}`;
    if (demanded) return [`--typecheck: ${missing}`];
    process.stderr.write(`muster check: warning: recipes not type-checked: ${missing}\n`);
    return [];
  }
  const work = mkdtempSync(path.join(tmpdir(), "muster-check-"));
  try {
    const config = {
      compilerOptions: {
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "bundler",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        allowImportingTsExtensions: true,
        types: ["node"],
        typeRoots: [path.join(repoDir, "node_modules/@types"), path.join(pkg, "node_modules/@types")],
        paths: { muster: [types], [PACKAGE_NAME]: [types] },
      },
      files,
    };
    const tsconfig = path.join(work, "tsconfig.json");
    writeFileSync(tsconfig, JSON.stringify(config));
    // tsc names files relative to its working directory: the repository's, as every message does
    const res = await exec([...tsc, "-p", tsconfig, "--pretty", "false"], {
      cwd: repoDir,
      timeoutMs: 120_000,
    });
    if (res.code === 0) return [];
    return res.stdout
      .split("\n")
      .filter((l) => /error TS\d+/.test(l))
      .map((l) => {
        const m = /^(.+?)\((\d+),\d+\): error TS\d+: (.*)$/.exec(l);
        if (!m) return l;
        // muster's prop types are long generic expressions: name the prop, not the type
        const msg = m[3].replace(/ (in|to) (type|parameter of type) '.{60,}$/, "");
        return `${path.relative(repoDir, path.resolve(repoDir, m[1]))}:${m[2]}: ${msg}`;
      });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
