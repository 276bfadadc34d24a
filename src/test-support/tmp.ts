/** Temporary roots and a runner for the built CLI, shared by tests. */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const EXAMPLES = path.join(REPO_ROOT, "examples");
export const BIN = path.join(REPO_ROOT, "bin/muster.js");

const made: string[] = [];

/** A new temporary directory, removed by `cleanupTmp()` (call it in afterAll/afterEach). */
export function tmpDir(prefix = "muster-test-"): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export function cleanupTmp(): void {
  while (made.length > 0) rmSync(made.pop()!, { recursive: true, force: true });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the built `muster` with args; never throws on a non-zero exit. `bin`: another copy's
 * bin/muster.js (packageCopy); `node`: options for node before it.
 */
export function muster(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; bin?: string; node?: string[] } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.node ?? []), opts.bin ?? BIN, ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/**
 * A copy of muster's built package in a new temporary directory (bin/muster.js, dist/cli.cjs and
 * its build id, package.json; node_modules linked), for tests of how bin/muster.js runs the
 * bundle. `patch` rewrites the bundle; the copy then has no build id, so no code cache.
 */
export function packageCopy(patch?: (bundle: string) => string): { dir: string; bin: string } {
  const dir = tmpDir("muster-package-");
  mkdirSync(path.join(dir, "bin"));
  mkdirSync(path.join(dir, "dist"));
  copyFileSync(BIN, path.join(dir, "bin/muster.js"));
  copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(dir, "package.json"));
  symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
  const bundle = readFileSync(path.join(REPO_ROOT, "dist/cli.cjs"), "utf8");
  writeFileSync(path.join(dir, "dist/cli.cjs"), patch ? patch(bundle) : bundle);
  if (!patch) copyFileSync(path.join(REPO_ROOT, "dist/build-id"), path.join(dir, "dist/build-id"));
  return { dir, bin: path.join(dir, "bin/muster.js") };
}

/** A hash of every entry under dir: names, types, modes, contents and link targets. */
export function treeHash(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      h.update(`${path.relative(dir, p)}\0${st.mode}\0`);
      if (st.isSymbolicLink()) h.update(readlinkSync(p));
      else if (st.isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest("hex");
}
