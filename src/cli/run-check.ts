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
import type { Platform } from "../host/platform.ts";
import { compileTemplate } from "../resources/template-render.ts";
import { compileRun } from "../runner/compile.ts";
import { musterPackageRoot } from "./package-root.ts";

export interface CheckFlags {
  repo: string;
  role?: string;
  typecheck: boolean;
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
  if (flags.typecheck) problems.push(...(await typeCheck(repo.dir, [...repo.recipeFiles.values()])));
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
    // a recipe may branch on node.platform: both families' branches are checked
    for (const platform of CHECK_PLATFORMS)
      try {
        compileRun({ repo, recipes, role, node: { hostname: "check", root: "/", platform } });
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        for (const p of err.problems) if (!problems.includes(p)) problems.push(p);
      }
  }
  return problems;
}

const CHECK_PLATFORMS: Platform[] = [
  { family: "debian", name: "debian", version: "12" },
  { family: "rhel", name: "amazon", version: "2023" },
];

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
 * a generated tsconfig that maps "muster" to this muster's own types).
 */
async function typeCheck(repoDir: string, files: string[]): Promise<string[]> {
  if (files.length === 0) return [];
  const pkg = musterPackageRoot();
  const tsc = path.join(pkg, "node_modules/typescript/bin/tsc");
  if (!existsSync(tsc)) return [];
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
        paths: { muster: [path.join(pkg, "src/index.ts")] },
      },
      files,
    };
    const tsconfig = path.join(work, "tsconfig.json");
    writeFileSync(tsconfig, JSON.stringify(config));
    // tsc names files relative to its working directory: the repository's, as every message does
    const res = await exec([process.execPath, tsc, "-p", tsconfig, "--pretty", "false"], {
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
