/**
 * Running commands: the other half of the host layer. Every child gets a bounded time, a closed
 * stdin (nothing may ever wait for a prompt) and is killed with its whole process group on timeout.
 */

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { RunError, TimeoutError } from "../core/errors.ts";

export interface ExecOptions {
  cwd?: string;
  /**
   * A directory held by descriptor to start in, in place of `cwd` (RootFs.openDir): entered as
   * /proc/self/fd/N by the child's chdir, which libuv makes after the fork and before the exec,
   * while the child still has the parent's descriptors (N among them, closed at the exec). That
   * resolves to that very directory, whatever was renamed or swapped on its path since it was
   * opened; the command itself never gets the descriptor (a command run as another user could
   * otherwise list a directory it may not read).
   */
  cwdFd?: number;
  env?: Record<string, string | undefined>;
  /** Milliseconds before the command (and its process group) is killed. */
  timeoutMs?: number;
  input?: string;
  uid?: number;
  gid?: number;
  /** Run through /bin/sh -c (a command string) instead of argv. */
  shell?: boolean;
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export type Exec = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** Run argv; resolves with the exit code (never rejects on a non-zero exit; see `execOk`). */
export const exec: Exec = (argv, opts = {}) =>
  new Promise((resolve, reject) => {
    const started = Date.now();
    const [cmd, ...args] = opts.shell ? ["/bin/sh", "-c", argv.join(" ")] : argv;
    const child = spawn(cmd, args, {
      cwd: opts.cwdFd !== undefined ? `/proc/self/fd/${opts.cwdFd}` : opts.cwd,
      env: opts.env ? cleanEnv(opts.env) : process.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true, // own process group, so a timeout kills grandchildren too
      uid: opts.uid,
      gid: opts.gid,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {}
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const onAbort = () => killGroup();
    opts.signal?.addEventListener("abort", onAbort);
    child.on("error", (e) => {
      clearTimeout(timer);
      const code = (e as NodeJS.ErrnoException).code;
      // spawn says ENOENT for a working directory that is missing too: tell the two apart
      const noCwd = code === "ENOENT" && opts.cwd !== undefined && !existsSync(opts.cwd);
      reject(
        new RunError(
          noCwd
            ? `working directory ${opts.cwd} does not exist`
            : code === "ENOENT"
              ? `command not found: ${cmd}`
              : `cannot run ${cmd}: ${e.message}`,
        ),
      );
    });
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      const durationMs = Date.now() - started;
      if (timedOut) {
        reject(
          new TimeoutError(
            `${describe(argv)} did not finish within ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`,
          ),
        );
        return;
      }
      resolve({
        code: code ?? (sig ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        durationMs,
      });
    });
  });

/** Run argv and fail with its last stderr line when the exit code is not 0. */
export async function execOk(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const res = await exec(argv, opts);
  if (res.code !== 0) {
    const why = lastLine(res.stderr) || lastLine(res.stdout) || `exit code ${res.code}`;
    throw new RunError(`${describe(argv)} failed: ${why}`);
  }
  return res;
}

export function lastLine(s: string): string {
  const lines = s.trim().split("\n");
  return lines[lines.length - 1]?.trim() ?? "";
}

function describe(argv: string[]): string {
  const s = argv.join(" ");
  return `\`${s.length > 80 ? `${s.slice(0, 77)}...` : s}\``;
}

function cleanEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
