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
import { ADD_TYPESCRIPT, findTsc } from "./find-tsc.ts";
import { musterPackageRoot, PACKAGE_NAME } from "./package-root.ts";
import { createProgress, type Progress, seconds } from "./progress.ts";
import { recipeCompilerOptions } from "./recipe-tsconfig.ts";

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
  // the type-check alone takes seconds: each stage shows (stderr: stdout is the verdict)
  const progress = createProgress({ lines: process.stderr });
  let problems: string[];
  try {
    problems = await collectProblems(flags, progress);
  } finally {
    progress.close();
  }
  for (const p of problems) process.stderr.write(`muster: ${p}\n`);
  if (problems.length === 0) process.stdout.write(`muster check: ${flags.repo}: ok\n`);
  else
    process.stderr.write(`muster check: ${problems.length} problem${problems.length > 1 ? "s" : ""} found\n`);
  return problems.length;
}

export async function collectProblems(flags: CheckFlags, progress?: Progress): Promise<string[]> {
  const step = async <T>(key: string, label: string, fn: () => T | Promise<T>): Promise<T> => {
    const started = Date.now();
    progress?.start(key, `muster check: ${label}`);
    let ok = false;
    try {
      const value = await fn();
      ok = true;
      return value;
    } finally {
      progress?.end(
        key,
        `muster check: ${label}: ${ok ? "done" : "stopped"} (${seconds(Date.now() - started)})`,
      );
    }
  };
  const problems: string[] = [];
  // a repo that cannot be read at all throws: exit 2, its one line alone (no progress line
  // before it: reading the roles and recipes takes milliseconds)
  const repo = loadConfigRepo(flags.repo, problems);
  problems.push(...(await step("templates", "templates", () => templateProblems(repo.dir))));
  if (flags.typecheck !== false)
    problems.push(
      ...(await step("typecheck", "type-check of the recipes", () =>
        typeCheck(repo.dir, [...repo.recipeFiles.values()], flags.typecheck === true),
      )),
    );
  let recipes: Awaited<ReturnType<typeof compileRecipes>>;
  try {
    recipes = await step("compile", "compile of the recipes", () => compileRecipes(repo));
  } catch (err) {
    // the type check parsed the same file: a syntax error it reported at a line is one problem,
    // not a second one in esbuild's words
    if (err instanceof InputError)
      return [...problems, ...err.problems.filter((p) => !atSameLine(p, problems))];
    throw err;
  }
  const roles = flags.role ? [flags.role] : [...repo.roles.keys()];
  await step("roles", `compile phase of ${roles.length} role${roles.length === 1 ? "" : "s"}`, () => {
    for (const role of roles) {
      const file = repo.roles.get(role)?.file;
      if (file && problems.some((p) => p.startsWith(`${file}:`))) continue; // already reported
      // a recipe may branch on node.platform: both families' branches are checked
      for (const platform of CHECK_PLATFORMS)
        try {
          compileRun({ repo, recipes, role, node: { hostname: "check", root: "/", platform } });
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          for (const p of err.problems)
            if (!problems.includes(p) && !saidAlready(p, problems)) problems.push(p);
        }
    }
  });
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
      compilerOptions: recipeCompilerOptions(pkg, [path.join(repoDir, "node_modules/@types")], types),
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

/**
 * A role that could not be read is "unknown" to every role that names it: that is the same
 * problem again, already said by its own file's line (roles/base.yaml: ...).
 */
/** PURE: does `problems` hold one for the file and line `problem` names (recipes/app.ts:29)? */
function atSameLine(problem: string, problems: string[]): boolean {
  const at = /^([^:\s]+:\d+):/.exec(problem)?.[1];
  return at !== undefined && problems.some((q) => q.startsWith(`${at}:`));
}

function saidAlready(problem: string, problems: string[]): boolean {
  // a resource's problem that quotes a template's syntax error, said already when the
  // templates were checked, is that problem again (other template problems, a link out of the
  // repo, are said as the resource meets them, in the words converge uses)
  if (problems.some((q) => q.includes(": syntax error: ") && problem.endsWith(`: ${q}`))) return true;
  const unknown = /: unknown role "([^"]+)"/.exec(problem)?.[1];
  return unknown !== undefined && problems.some((p) => p.startsWith(`roles/${unknown}.`));
}
