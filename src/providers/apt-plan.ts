/**
 * The apt provider's decisions, pure: parse what dpkg-query, apt-cache and /proc/locks print,
 * and compute the changes a package resource needs. src/providers/apt.ts runs the commands.
 */
import type { Change } from "../core/resource.ts";

export type PackageAction = "install" | "upgrade" | "remove" | "purge";

export interface DpkgEntry {
  name: string;
  /** dpkg's "want flag status" triple: "install ok installed", "deinstall ok config-files" */
  status: string;
  version: string;
  installed: boolean;
  /** removed, its configuration files left behind (purge removes them) */
  configFiles: boolean;
}

/** What installed packages the host has: `dpkg-query -W -f '${Package}\t${Status}\t${Version}\n'`. */
export function parseDpkgQuery(stdout: string): Map<string, DpkgEntry> {
  const out = new Map<string, DpkgEntry>();
  for (const line of stdout.split("\n")) {
    const [name, status, version = ""] = line.split("\t");
    if (!name || !status) continue;
    const state = status.trim().split(/\s+/)[2] ?? "";
    // triggers-* are installed packages whose triggers have not run yet: usable
    const installed = state === "installed" || state.startsWith("triggers-");
    const entry: DpkgEntry = {
      name,
      status: status.trim(),
      version: installed ? version.trim() : "",
      installed,
      configFiles: state === "config-files",
    };
    // one line per architecture of a multi-arch package: installed anywhere counts
    const prev = out.get(name);
    if (!prev || (!prev.installed && entry.installed)) out.set(name, entry);
  }
  return out;
}

export interface AptPolicy {
  installed?: string;
  /** what `apt-get install` would install; undefined when apt knows no installable version */
  candidate?: string;
}

/**
 * `apt-cache policy NAME...`: a block per package apt knows ("name:" then indented fields).
 * A package apt does not know at all prints nothing, so it is simply absent from the map.
 */
export function parseAptPolicy(stdout: string): Map<string, AptPolicy> {
  const out = new Map<string, AptPolicy>();
  let cur: AptPolicy | undefined;
  for (const line of stdout.split("\n")) {
    const head = /^(\S+):$/.exec(line);
    if (head) {
      cur = {};
      out.set(head[1], cur);
      continue;
    }
    const field = /^\s+(Installed|Candidate):\s*(.*)$/.exec(line);
    if (!field || !cur) continue;
    const value = field[2].trim();
    const v = value === "(none)" || value === "" ? undefined : value;
    if (field[1] === "Installed") cur.installed = v;
    else cur.candidate = v;
  }
  return out;
}

export interface WantedPackage {
  name: string;
  version?: string;
}

export interface PackagePlan {
  changes: Change[];
  /** apt-get install arguments ("nginx" or "nginx=1.22.1-9") */
  install: string[];
  remove: string[];
  purge: string[];
  /** names to install that apt's index does not offer (yet: the index may be stale) */
  unknown: string[];
}

/**
 * What a package resource must change. `candidates` (from apt-cache policy) is only used for the
 * messages and for upgrade; without it the plan still knows what to install.
 */
export function planPackages(
  wanted: WantedPackage[],
  action: PackageAction,
  installed: Map<string, DpkgEntry>,
  candidates: Map<string, AptPolicy> = new Map(),
): PackagePlan {
  const plan: PackagePlan = { changes: [], install: [], remove: [], purge: [], unknown: [] };
  for (const w of wanted) {
    const have = installed.get(w.name);
    const candidate = candidates.get(w.name)?.candidate;
    const arg = w.version ? `${w.name}=${w.version}` : w.name;
    if (action === "install" || action === "upgrade") {
      if (!have?.installed) {
        plan.install.push(arg);
        if (!candidate || (w.version && candidate !== w.version)) plan.unknown.push(w.name);
        const v = w.version ?? candidate;
        plan.changes.push({ key: "install", what: `install ${w.name}${v ? ` ${v}` : ""}` });
      } else if (w.version && have.version !== w.version) {
        plan.install.push(arg);
        if (candidate !== w.version) plan.unknown.push(w.name);
        plan.changes.push({ key: "install", what: `install ${w.name} ${w.version} (was ${have.version})` });
      } else if (action === "upgrade" && !w.version && candidate && candidate !== have.version) {
        plan.install.push(arg);
        plan.changes.push({ key: "upgrade", what: `upgrade ${w.name} ${have.version} -> ${candidate}` });
      }
    } else if (action === "remove") {
      if (have?.installed) {
        plan.remove.push(w.name);
        plan.changes.push({ key: "remove", what: `remove ${w.name} ${have.version}` });
      }
    } else if (have?.installed) {
      plan.purge.push(w.name);
      plan.changes.push({ key: "purge", what: `purge ${w.name} ${have.version}` });
    } else if (have?.configFiles) {
      plan.purge.push(w.name);
      plan.changes.push({ key: "purge", what: `purge the configuration files ${w.name} left behind` });
    }
  }
  return plan;
}

/**
 * Under a sandbox root the host's packages are the sandbox's packages and cannot change: every
 * change the plan wants is a problem, said so the operator knows to fix the image.
 */
export function sandboxProblems(
  wanted: WantedPackage[],
  action: PackageAction,
  installed: Map<string, DpkgEntry>,
): string[] {
  // an upgrade in a sandbox only needs the package present: the image decides its version
  const plan = planPackages(wanted, action === "upgrade" ? "install" : action, installed);
  const problems: string[] = [];
  for (const w of wanted) {
    const have = installed.get(w.name);
    if (
      (action === "install" || action === "upgrade") &&
      plan.install.some((a) => a.split("=")[0] === w.name)
    ) {
      if (!have?.installed)
        problems.push(
          `package ${w.name} is not installed on this host; a sandbox root cannot install packages: install it on the image`,
        );
      else
        problems.push(
          `package ${w.name} ${have.version} is installed on this host but the recipe wants ${w.version}; a sandbox root cannot change packages: install that version on the image`,
        );
    }
    if (
      (action === "remove" || action === "purge") &&
      (plan.remove.includes(w.name) || plan.purge.includes(w.name))
    )
      problems.push(
        `package ${w.name} is installed on this host; a sandbox root cannot remove packages: remove it from the image`,
      );
  }
  return problems;
}

/**
 * Is the package index older than `validSeconds` (Ansible's cache_valid_time)? `mtimesMs` are the
 * modification times of the index's stamps; none at all means it was never fetched.
 */
export function indexIsStale(mtimesMs: (number | undefined)[], nowMs: number, validSeconds: number): boolean {
  const known = mtimesMs.filter((m): m is number => m !== undefined);
  if (known.length === 0) return true;
  return nowMs - Math.max(...known) > validSeconds * 1000;
}

export interface ProcLock {
  kind: string;
  pid: number;
  inode: number;
}

/**
 * /proc/locks: "1: POSIX  ADVISORY  WRITE 1234 08:01:1311 0 EOF". Lines with "->" are processes
 * waiting for a lock, not holding it. dpkg and apt take fcntl (POSIX) locks; flock(1) shows FLOCK.
 */
export function parseProcLocks(text: string): ProcLock[] {
  const out: ProcLock[] = [];
  for (const line of text.split("\n")) {
    const m = /^\d+:\s+(\S+)\s+\S+\s+\S+\s+(-?\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (!m) continue;
    out.push({ kind: m[1], pid: Number(m[2]), inode: Number(m[3]) });
  }
  return out;
}

/** Pids holding a lock on the file with this inode (the device is not compared: see apt.ts). */
export function lockHolders(locks: ProcLock[], inode: number): number[] {
  return [...new Set(locks.filter((l) => l.inode === inode && l.pid > 0).map((l) => l.pid))];
}
