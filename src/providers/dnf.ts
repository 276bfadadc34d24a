/**
 * The dnf provider's effects: read the root's rpm database and the cached repository metadata,
 * refresh the metadata when it is older than cacheValidTime, wait a bounded time for dnf's and
 * rpm's locks, run dnf. Under a sandbox root dnf acts on the root itself (`--installroot`), with
 * the repositories the root declares in its /etc/yum.repos.d. Paths and exec are in a DnfHost so
 * tests can point them at temporary files.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RunError, TimeoutError } from "../core/errors.ts";
import type { Logger, ResourceContext } from "../core/resource.ts";
import type { Exec } from "../host/exec.ts";
import { readPlatform } from "../host/platform.ts";
import {
  type DnfPlan,
  dnfErrorLine,
  dnfLockPaths,
  missingPackagesLine,
  parsePidFile,
  parseRepoquery,
  parseRpmQuery,
  REPOQUERY_FORMAT,
  RPM_QUERY_FORMAT,
  type RpmEntry,
} from "./dnf-plan.ts";
import { commandOf, type LockHolder, lockHoldersOf, waitWhileHeld } from "./lock-wait.ts";

export interface DnfHost {
  exec: Exec;
  env: Record<string, string | undefined>;
  log: Logger;
  /** the root dnf and rpm act on, as a host path; "/" is the host itself */
  root: string;
  /** the root's release version ("2023"): $releasever in its repository URLs */
  releasever?: string;
  procLocks: string;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export function hostDnf(ctx: ResourceContext): DnfHost {
  const version = readPlatform(ctx.fs).version;
  return {
    exec: ctx.exec,
    env: ctx.env,
    log: ctx.log,
    root: ctx.fs.root,
    releasever: version || undefined,
    procLocks: "/proc/locks",
    now: Date.now,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

const isHost = (h: DnfHost) => h.root === "/";

/** dnf's options for this root: a sandbox root is dnf's installroot, with its own repositories. */
export function dnfBase(h: DnfHost): string[] {
  const argv = ["dnf", "-y", "--quiet"];
  if (!isHost(h))
    argv.push("--installroot", h.root, `--setopt=reposdir=${path.join(h.root, "etc/yum.repos.d")}`);
  if (h.releasever) argv.push("--releasever", h.releasever);
  return argv;
}

const rpmBase = (h: DnfHost) => (isHost(h) ? ["rpm"] : ["rpm", "--root", h.root]);

/** The root's rpm database for these names (absent names are not in the map). */
export async function queryRpm(h: DnfHost, names: string[]): Promise<Map<string, RpmEntry>> {
  const res = await h
    .exec([...rpmBase(h), "-q", "--queryformat", RPM_QUERY_FORMAT, "--", ...names], {
      env: { ...h.env, LC_ALL: "C" },
      timeoutMs: 60_000,
    })
    .catch((err: Error) => {
      throw new RunError(`cannot read the rpm database: ${err.message} (the dnf provider needs rpm and dnf)`);
    });
  // exit 1 with "package x is not installed" (on stdout) is how rpm says "not installed"
  if (res.code !== 0 && !/is not installed/.test(res.stdout))
    throw new RunError(`rpm -q failed: ${dnfErrorLine(res.stderr) || `exit code ${res.code}`}`);
  return parseRpmQuery(res.stdout);
}

/** Every version the cached metadata offers for these names; nothing is downloaded. */
export async function queryAvailable(h: DnfHost, names: string[]): Promise<Map<string, RpmEntry[]>> {
  if (names.length === 0) return new Map();
  const res = await h
    .exec([...dnfBase(h), "--cacheonly", "repoquery", "--qf", REPOQUERY_FORMAT, "--", ...names], {
      env: { ...h.env, LC_ALL: "C" },
      timeoutMs: 120_000,
    })
    .catch((err: Error) => {
      throw new RunError(`cannot run dnf: ${err.message} (the dnf provider needs dnf)`);
    });
  if (res.code !== 0) throw new RunError(`dnf repoquery failed: ${dnfErrorLine(res.stderr)}`);
  return parseRepoquery(res.stdout);
}

/** /proc/locks' holders of these files, and the live pid a dnf lock file names. */
export function dnfLockHolders(paths: string[], procLocks = "/proc/locks"): LockHolder[] {
  const out = lockHoldersOf(paths, procLocks);
  for (const lock of paths) {
    if (!lock.endsWith(".pid") || out.some((h) => h.lock === lock)) continue;
    let text: string | undefined;
    try {
      text = fs.readFileSync(lock, "utf8");
    } catch {
      continue;
    }
    // dnf counts a live pid in the file as the lock held (dnf/lock.py), even without the flock
    const pid = parsePidFile(text);
    if (pid !== undefined && pid !== process.pid && fs.existsSync(`/proc/${pid}/stat`))
      out.push({ lock, pid, command: commandOf(pid) });
  }
  return out;
}

async function rpmLockPath(h: DnfHost): Promise<string | undefined> {
  const res = await h.exec(["rpm", "--eval", "%{_rpmlock_path}"], { env: h.env, timeoutMs: 30_000 });
  const p = res.stdout.trim();
  return res.code === 0 && p.startsWith("/") ? p : undefined;
}

/** Wait until nobody holds these locks (paths inside the root), or fail naming the holder. */
export async function waitForDnfLocks(h: DnfHost, paths: string[], deadlineMs: number, waitedFrom = h.now()) {
  const inRoot = paths.map((p) => path.join(h.root, p));
  await waitWhileHeld({
    holders: () => dnfLockHolders(inRoot, h.procLocks),
    deadlineMs,
    waitedFrom,
    now: h.now,
    sleep: h.sleep,
    onWait: (l) => h.log.progress(`dnf: waiting for ${l.lock}, held by pid ${l.pid} (${l.command})`),
    timeout: (l, waited) =>
      new TimeoutError(
        `the package lock ${l.lock} is held by pid ${l.pid} (${l.command}); waited ${waited} s. ` +
          "At boot this is usually cloud-init's own package run: let it finish, or raise lockTimeout",
      ),
  });
}

export interface DnfApplyOptions {
  /** seconds the repository metadata stays fresh (dnf's metadata_expire for the refresh) */
  cacheValidTime: number;
  /** seconds to wait for the locks */
  lockTimeout: number;
}

/** Carry out a plan: refresh the metadata where it is stale, then one dnf call per kind of change. */
export async function applyDnfPlan(h: DnfHost, plan: DnfPlan, opts: DnfApplyOptions): Promise<void> {
  const started = h.now();
  const deadline = started + opts.lockTimeout * 1000;
  const locks = dnfLockPaths(await rpmLockPath(h));
  if (plan.install.length > 0 || plan.upgrade.length > 0) {
    // dnf itself downloads only the repositories whose metadata is older than metadata_expire;
    // a name the cache lacks forces a refresh of all of them
    const force = plan.unknown.length > 0;
    h.log.progress(
      force
        ? `dnf: refreshing the repository metadata (it has no ${plan.unknown.join(", ")})`
        : `dnf: refreshing the repository metadata older than ${opts.cacheValidTime} s`,
    );
    await waitForDnfLocks(h, locks.metadata, deadline, started);
    await dnf(h, [
      `--setopt=metadata_expire=${opts.cacheValidTime}`,
      "makecache",
      ...(force ? ["--refresh"] : []),
    ]);
    if (force) {
      const offered = await queryAvailable(h, plan.unknown);
      const missing = plan.unknown.filter((n) => !offered.has(n));
      if (missing.length > 0) throw new RunError(missingPackagesLine(missing));
    }
  }
  for (const [verb, args] of [
    ["install", plan.install],
    ["upgrade", plan.upgrade],
    ["remove", plan.remove],
  ] as const) {
    if (args.length === 0) continue;
    await waitForDnfLocks(h, locks.install, deadline, started);
    h.log.progress(`dnf: ${verb} ${args.join(" ")}`);
    // the metadata is the cache just checked: no second download in the middle of the change
    await dnf(h, ["--cacheonly", verb, "--", ...args]);
  }
}

async function dnf(h: DnfHost, args: string[]): Promise<void> {
  const res = await h.exec([...dnfBase(h), ...args], {
    env: { ...h.env, LC_ALL: "C" },
    timeoutMs: 30 * 60_000,
  });
  if (res.code === 0) return;
  const why = dnfErrorLine(res.stderr) || dnfErrorLine(res.stdout) || `exit code ${res.code}`;
  const verb = args.find((a) => !a.startsWith("-"));
  const missing = /^Error: Unable to find a match: (.+)$/.exec(why);
  if (missing) throw new RunError(missingPackagesLine(missing[1].split(/\s+/)));
  throw new RunError(`dnf ${verb} failed: ${why}`);
}
