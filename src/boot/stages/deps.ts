/**
 * Stage deps: the config repo's own dependencies (libraries its recipes import), installed with
 * `npm ci --omit=dev` from its lock file, with a cache in the state directory. Skipped when the repo has
 * no dependencies, or when the same lock file was installed before and node_modules is there.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import { InputError, RunError, TimeoutError } from "../../core/errors.ts";
import { exec, lastLine } from "../../host/exec.ts";
import { pathExists, readBytes, readText, removePath, writeText } from "../../host/host-files.ts";

export interface DepsOptions {
  /** host path of the config repo checkout */
  dir: string;
  /** host path of npm's cache */
  cacheDir: string;
  timeoutMs: number;
  env?: Record<string, string | undefined>;
}

export type DepsResult = "none" | "up-to-date" | "installed";

/**
 * PURE: does this package.json declare anything a server installs? Its devDependencies are the
 * config repository's tooling (the TypeScript `muster check` type-checks with, @types/node for
 * editors): a boot leaves them out (`npm ci --omit=dev`), as a production install of any Node
 * app does, so that tooling never makes a boot slower or dependent on a registry.
 */
export function hasDependencies(pkg: unknown): boolean {
  const p = pkg as Record<string, unknown> | null;
  if (!p || typeof p !== "object") return false;
  return ["dependencies", "optionalDependencies"].some(
    (k) => p[k] && typeof p[k] === "object" && Object.keys(p[k] as object).length > 0,
  );
}

const STAMP = "node_modules/.muster-lock-sha256";

export async function installDependencies(o: DepsOptions): Promise<DepsResult> {
  const pkgFile = path.join(o.dir, "package.json");
  if (!pathExists(pkgFile)) return "none";
  let pkg: unknown;
  try {
    pkg = JSON.parse(readText(pkgFile));
  } catch (err) {
    throw new InputError(`config repo package.json: not valid JSON: ${(err as Error).message}`);
  }
  if (!hasDependencies(pkg)) return "none";
  const lockName = ["npm-shrinkwrap.json", "package-lock.json"].find((f) => pathExists(path.join(o.dir, f)));
  if (!lockName)
    throw new InputError(
      "config repo package.json has dependencies but no package-lock.json; run `npm install` in the config repo and commit the lock file",
    );
  const hash = createHash("sha256")
    .update(readBytes(path.join(o.dir, lockName)))
    .update(readBytes(pkgFile))
    .digest("hex");
  const stamp = path.join(o.dir, STAMP);
  if (pathExists(stamp) && readText(stamp).trim() === hash) return "up-to-date";
  const res = await exec(
    [
      "npm",
      "ci",
      "--omit=dev",
      "--cache",
      o.cacheDir,
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
    ],
    {
      cwd: o.dir,
      timeoutMs: o.timeoutMs,
      env: { ...(o.env ?? process.env), npm_config_update_notifier: "false", NO_COLOR: "1" },
    },
  ).catch((err: Error) => {
    throw err instanceof TimeoutError
      ? new RunError(`npm ci in the config repo did not finish within ${o.timeoutMs / 1000} s`)
      : err;
  });
  if (res.code !== 0) {
    removePath(stamp);
    const why = npmReason(res.stderr) ?? lastLine(res.stderr);
    throw new RunError(`npm ci in the config repo failed: ${why || `exit code ${res.code}`}`);
  }
  writeText(stamp, `${hash}\n`);
  return "installed";
}

/** PURE: the first line of npm's error output that says something ("code EUSAGE" and blanks do not). */
export function npmReason(stderr: string): string | undefined {
  for (const line of stderr.split("\n")) {
    const m = /^npm (?:error|ERR!)\s*(.*)$/.exec(line.trim());
    const text = m?.[1]?.trim();
    if (!text || /^code \S+$/.test(text) || /^errno /.test(text) || /A complete log/.test(text)) continue;
    return text.length > 240 ? `${text.slice(0, 237)}...` : text;
  }
  return undefined;
}
