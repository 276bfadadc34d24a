/**
 * For tests that a secret never reaches a command line: every command line a run shows to other
 * users, seen two ways. Shims of `git` (on PATH) and of git's http transports, git-remote-http(s) (in a copy of
 * git's exec path) record each argv before running the real program, so no git process is
 * missed however short; and /proc/PID/cmdline of every process is polled meanwhile, for
 * anything else (a shell running a command).
 */
import { chmodSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { execOk } from "../host/exec.ts";
import { tmpDir } from "./tmp.ts";

/** Environment entries that put the git shims in place; `argvs()` reads what they recorded. */
export async function gitArgvRecorder(): Promise<{
  env: Record<string, string>;
  argvs: () => string[];
}> {
  const realGit = (await execOk(["sh", "-c", "command -v git"])).stdout.trim();
  const realExecPath = (await execOk([realGit, "--exec-path"])).stdout.trim();
  const dir = tmpDir("muster-argv-");
  const log = path.join(dir, "argv.log");
  const bin = path.join(dir, "bin");
  const execPath = path.join(dir, "exec-path");
  writeFileSync(log, "");
  const shim = (file: string, real: string) => {
    writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "$0 $*" >> '${log}'\nexec '${real}' "$@"\n`);
    chmodSync(file, 0o755);
  };
  await execOk(["mkdir", "-p", bin, execPath]);
  shim(path.join(bin, "git"), realGit);
  for (const name of readdirSync(realExecPath)) {
    const real = path.join(realExecPath, name);
    if (/^git-remote-https?$/.test(name) || name === "git") shim(path.join(execPath, name), real);
    else symlinkSync(real, path.join(execPath, name));
  }
  return {
    env: { PATH: `${bin}:${process.env.PATH}`, GIT_EXEC_PATH: execPath },
    argvs: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []),
  };
}

/** Polls every process's command line until stopped; returns those that contained `needle`. */
export function watchCmdlines(needle: string): { stop: () => string[] } {
  const hits = new Set<string>();
  let running = true;
  const poll = () => {
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
        if (cmdline.includes(needle)) hits.add(`${pid}: ${cmdline}`);
      } catch {} // gone meanwhile
    }
    if (running) timer = setTimeout(poll, 2);
  };
  let timer = setTimeout(poll, 0);
  return {
    stop() {
      running = false;
      clearTimeout(timer);
      poll();
      return [...hits];
    },
  };
}
