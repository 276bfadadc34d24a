/**
 * The apt provider's effects: read the host's package database (dpkg-query, apt-cache), refresh
 * the index when it is stale, wait a bounded time for the dpkg lock, run apt-get. Every path and
 * the exec function are in an AptHost so tests can point them at fakes and temporary files.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RunError, TimeoutError } from "../core/errors.ts";
import type { Logger, ResourceContext } from "../core/resource.ts";
import type { Exec } from "../host/exec.ts";
import {
  type AptPolicy,
  type DpkgEntry,
  indexIsStale,
  type PackagePlan,
  parseAptPolicy,
  parseDpkgQuery,
} from "./apt-plan.ts";
import { lockHoldersOf, waitWhileHeld } from "./lock-wait.ts";

export { type LockHolder, lockHoldersOf } from "./lock-wait.ts";

export interface AptHost {
  exec: Exec;
  env: Record<string, string | undefined>;
  log: Logger;
  /** the locks apt-get install takes (the frontend lock first: it is what cloud-init's apt holds) */
  dpkgLocks: string[];
  /** the lock apt-get update takes */
  listsLock: string;
  /** files whose modification time says when the index was last fetched */
  indexStamps: string[];
  /** touched after a successful apt-get update, so an unchanged index still counts as fresh */
  updateStamp: string;
  procLocks: string;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export function hostApt(ctx: ResourceContext): AptHost {
  return {
    exec: ctx.exec,
    env: ctx.env,
    log: ctx.log,
    dpkgLocks: ["/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"],
    listsLock: "/var/lib/apt/lists/lock",
    // the lists directory changes when apt-get update brings new lists; the stamp is the one
    // apt's periodic job (and muster) touch on success. /var/cache/apt/pkgcache.bin is not used:
    // apt rebuilds it after every install, which would make an old index look fresh.
    indexStamps: ["/var/lib/apt/periodic/update-success-stamp", "/var/lib/apt/lists"],
    updateStamp: "/var/lib/apt/periodic/update-success-stamp",
    procLocks: "/proc/locks",
    now: Date.now,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${Field} syntax
const DPKG_FORMAT = "${Package}\t${Status}\t${Version}\n";

/** The host's dpkg database for these names (absent names are simply not in the map). */
export async function queryInstalled(host: AptHost, names: string[]): Promise<Map<string, DpkgEntry>> {
  const res = await host
    .exec(["dpkg-query", "-W", "-f", DPKG_FORMAT, "--", ...names], { env: host.env, timeoutMs: 60_000 })
    .catch((err: Error) => {
      throw new RunError(
        `cannot read the host's package database: ${err.message} (the apt provider needs Debian or Ubuntu)`,
      );
    });
  // exit 1 with "no packages found matching X" is how dpkg-query says "not installed"
  if (res.code !== 0 && !/no packages found/.test(res.stderr))
    throw new RunError(`dpkg-query failed: ${firstError(res.stderr) || `exit code ${res.code}`}`);
  return parseDpkgQuery(res.stdout);
}

/** What apt would install for these names (absent: apt's index does not know the name). */
export async function queryPolicy(host: AptHost, names: string[]): Promise<Map<string, AptPolicy>> {
  if (names.length === 0) return new Map();
  const res = await host.exec(["apt-cache", "policy", "--", ...names], {
    env: { ...host.env, LC_ALL: "C" },
    timeoutMs: 60_000,
  });
  if (res.code !== 0) throw new RunError(`apt-cache policy failed: ${firstError(res.stderr)}`);
  return parseAptPolicy(res.stdout);
}

/** Wait until nobody holds these locks, or fail at the deadline naming who holds them. */
export async function waitForLocks(
  host: AptHost,
  paths: string[],
  deadlineMs: number,
  waitedFrom = host.now(),
) {
  await waitWhileHeld({
    holders: () => lockHoldersOf(paths, host.procLocks),
    deadlineMs,
    waitedFrom,
    now: host.now,
    sleep: host.sleep,
    onWait: (h) => host.log.progress(`apt: waiting for ${h.lock}, held by pid ${h.pid} (${h.command})`),
    timeout: (h, waited) =>
      new TimeoutError(
        `the dpkg lock ${h.lock} is held by pid ${h.pid} (${h.command}); waited ${waited} s. ` +
          "At boot this is usually cloud-init's own apt run: let it finish, or raise lockTimeout",
      ),
  });
}

export interface ApplyOptions {
  /** seconds the package index stays fresh */
  cacheValidTime: number;
  /** seconds to wait for the dpkg lock */
  lockTimeout: number;
}

/** Carry out a plan: refresh the index if needed, then one apt-get call per kind of change. */
export async function applyPackagePlan(host: AptHost, plan: PackagePlan, opts: ApplyOptions): Promise<void> {
  const started = host.now();
  const deadline = started + opts.lockTimeout * 1000;
  if (plan.install.length > 0) {
    const stale = indexIsStale(host.indexStamps.map(mtimeOf), host.now(), opts.cacheValidTime);
    if (stale || plan.unknown.length > 0) {
      host.log.progress(
        `apt: refreshing the package index (${stale ? `older than ${opts.cacheValidTime} s` : `it has no ${plan.unknown.join(", ")}`})`,
      );
      await waitForLocks(host, [host.listsLock], deadline, started);
      await aptGet(host, ["update"], deadline);
      touch(host.updateStamp);
      const policy = await queryPolicy(host, plan.unknown);
      const missing = plan.unknown.filter((n) => !policy.get(n)?.candidate);
      if (missing.length > 0)
        throw new RunError(
          `no package ${missing.map((n) => `"${n}"`).join(", ")} in apt's sources (the index was just refreshed); check the name`,
        );
    }
    await waitForLocks(host, host.dpkgLocks, deadline, started);
    host.log.progress(`apt: installing ${plan.install.join(" ")}`);
    const pinned = plan.install.some((a) => a.includes("="));
    await aptGet(
      host,
      ["install", ...(pinned ? ["--allow-downgrades"] : []), "--", ...plan.install],
      deadline,
    );
  }
  for (const [verb, names] of [
    ["remove", plan.remove],
    ["purge", plan.purge],
  ] as const) {
    if (names.length === 0) continue;
    await waitForLocks(host, host.dpkgLocks, deadline, started);
    host.log.progress(`apt: ${verb} ${names.join(" ")}`);
    await aptGet(host, [verb, "--", ...names], deadline);
  }
}

async function aptGet(host: AptHost, args: string[], deadlineMs: number): Promise<void> {
  // apt waits for the lock itself too, for whatever remains of the budget: another apt run may
  // take the lock between our check and apt-get's start
  const lockWait = Math.max(0, Math.round((deadlineMs - host.now()) / 1000));
  const argv = [
    "apt-get",
    "-y",
    "-q",
    "-o",
    `DPkg::Lock::Timeout=${lockWait}`,
    "-o",
    "Dpkg::Options::=--force-confdef",
    "-o",
    "Dpkg::Options::=--force-confold",
    ...args,
  ];
  const res = await host.exec(argv, {
    env: { ...host.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" },
    timeoutMs: 30 * 60_000,
  });
  if (res.code === 0) return;
  const why = firstError(res.stderr) || firstError(res.stdout) || `exit code ${res.code}`;
  throw new RunError(`apt-get ${args[0]} failed: ${why}`);
}

/** apt's own error line ("E: Unable to locate package x") rather than its last warning. */
function firstError(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => l.startsWith("E: ")) ?? lines[lines.length - 1] ?? "";
}

function mtimeOf(p: string): number | undefined {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return undefined;
  }
}

function touch(p: string): void {
  try {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const now = new Date();
    fs.closeSync(fs.openSync(p, "a"));
    fs.utimesSync(p, now, now);
  } catch {
    // a missing stamp only means the next run refreshes the index again
  }
}
