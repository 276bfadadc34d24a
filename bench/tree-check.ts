/**
 * The check of a converged tree, with the semantics of peers/check.sh, for every tool: 22
 * directories outside the checkout (the root, sites, d01..d20), N plain files f*.txt of mode
 * exactly 0644, 50 server blocks, a checkout at the bare repository's master with 200 tracked
 * files, ping.html saying ok, no errors, and zero changes on a no-op run. Changes are counted
 * from each tool's own output: ansible's "changed:" lines, puppet's "Notice: /Stage" lines,
 * muster's `--json` totals. Gathering the counts touches the disk; judging them is pure.
 */
import { execFileSync } from "node:child_process";
import { type Dirent, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import type { Tool } from "./stats.ts";

export interface TreeCounts {
  dirs: number;
  files: number;
  sites: number;
  head?: string;
  tracked: number;
  ping?: string;
}

export interface CheckInput extends TreeCounts {
  tool: Tool;
  run: string;
  n: number;
  /** master of the bare repository */
  expectedHead?: string;
  changes: number;
  errors: number;
}

export interface CheckResult {
  ok: boolean;
  line: string;
}

/** Pure: the verdict and the one line check.sh would print. */
export function judgeTree(c: CheckInput): CheckResult {
  const ping = c.ping?.replace(/\n+$/, ""); // as $(cat ping.html) reads it
  let ok =
    c.dirs === 22 &&
    c.files === c.n &&
    c.sites === 50 &&
    c.tracked === 200 &&
    c.errors === 0 &&
    c.head !== undefined &&
    c.head === c.expectedHead &&
    ping === "ok";
  if (c.run.startsWith("noop") && c.changes !== 0) ok = false;
  const line =
    `${ok ? "ok" : "FAIL"} ${c.tool} ${c.run}: dirs=${c.dirs} files=${c.files} sites=${c.sites} ` +
    `app=${(c.head ?? "").slice(0, 7)}/${c.tracked} ping=${ping ?? ""} changes=${c.changes} errors=${c.errors}`;
  return { ok, line };
}

/** Pure: changes and errors in a peer's log, counted as check.sh counts them. */
export function peerLogCounts(tool: "ansible" | "puppet", log: string): { changes: number; errors: number } {
  const lines = log.split("\n");
  const changed = tool === "ansible" ? /^changed:/ : /^Notice: \/Stage/;
  return {
    changes: lines.filter((l) => changed.test(l)).length,
    errors: lines.filter((l) => /^(fatal|ERROR|Error: \/Stage)/.test(l)).length,
  };
}

/** Pure: changes and errors from `muster converge --json`'s report. */
export function musterReportCounts(json: string): { changes: number; errors: number; resources: number } {
  try {
    const report = JSON.parse(json) as {
      outcome?: string;
      totals?: { resources: number; updated: number; failed: number };
    };
    if (!report.totals) return { changes: 0, errors: 1, resources: 0 };
    const failed = report.totals.failed + (report.outcome === "converged" ? 0 : 1);
    return { changes: report.totals.updated, errors: failed, resources: report.totals.resources };
  } catch {
    return { changes: 0, errors: 1, resources: 0 }; // no report at all is an error
  }
}

/** Count what check.sh counts in the tree at `root`. */
export function countTree(root: string): TreeCounts {
  let dirs = 0;
  let files = 0;
  const walk = (dir: string, inApp: boolean) => {
    if (!inApp) dirs++; // find -path ROOT/app -prune: the checkout's directories are not counted
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, inApp || p === path.join(root, "app"));
      else if (e.isFile() && /^f.*\.txt$/.test(e.name) && (statSync(p).mode & 0o7777) === 0o644) files++;
    }
  };
  try {
    if (statSync(root).isDirectory()) walk(root, false);
  } catch {}
  let sites = 0;
  const sitesDir = path.join(root, "sites");
  for (const name of safeReadDir(sitesDir))
    if (/^site.*\.conf$/.test(name) && readText(path.join(sitesDir, name))?.includes("listen 80")) sites++;
  const app = path.join(root, "app");
  const head = git(["-C", app, "rev-parse", "HEAD"])?.trim();
  const ls = git(["-C", app, "ls-files"]);
  const tracked = ls ? ls.split("\n").filter((l) => l !== "").length : 0;
  return { dirs, files, sites, head, tracked, ping: readText(path.join(root, "ping.html")) };
}

export function bareHead(gitDir: string): string | undefined {
  return git([`--git-dir=${gitDir}`, "rev-parse", "master"])?.trim();
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return undefined;
  }
}

function safeReadDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}
