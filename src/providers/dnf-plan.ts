/**
 * The dnf provider's decisions, pure: parse what `rpm -q --queryformat` and `dnf repoquery`
 * print, compare rpm versions as rpm does, and compute the changes a package resource needs.
 * src/providers/dnf.ts runs the commands.
 */
import type { Change } from "../core/resource.ts";
import type { PackageAction, WantedPackage } from "./apt-plan.ts";

export interface RpmEntry {
  name: string;
  /** "0" when the package has none (rpm prints "(none)") */
  epoch: string;
  version: string;
  release: string;
  arch: string;
}

/** The query format both `rpm -q` and `dnf repoquery` are asked to print: one tab-separated line. */
export const RPM_QUERY_FORMAT = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n";
/** `dnf repoquery --qf` takes lowercase tags and does not unescape \t: literal tabs. */
export const REPOQUERY_FORMAT = "%{name}\t%{epoch}\t%{version}\t%{release}\t%{arch}";

/** "1:2.0-1" or "2.0-1": rpm's own way of writing epoch:version-release. */
export function evr(e: Pick<RpmEntry, "epoch" | "version" | "release">): string {
  return `${e.epoch !== "0" ? `${e.epoch}:` : ""}${e.version}-${e.release}`;
}

function parseLines(stdout: string): RpmEntry[] {
  const out: RpmEntry[] = [];
  for (const line of stdout.split("\n")) {
    const [name, epoch, version, release, arch = ""] = line.split("\t");
    if (!name || version === undefined || release === undefined) continue; // "package x is not installed"
    out.push({ name, epoch: epoch === "(none)" || epoch === "" ? "0" : epoch, version, release, arch });
  }
  return out;
}

/**
 * `rpm -q --queryformat RPM_QUERY_FORMAT NAME...`: the installed packages. A name installed for
 * two architectures (or several kernels) prints one line each: the newest stands for it.
 */
export function parseRpmQuery(stdout: string): Map<string, RpmEntry> {
  const out = new Map<string, RpmEntry>();
  for (const e of parseLines(stdout)) {
    const prev = out.get(e.name);
    if (!prev || compareEvr(e, prev) > 0) out.set(e.name, e);
  }
  return out;
}

/** `dnf repoquery --qf REPOQUERY_FORMAT NAME...`: every version the repositories offer, by name. */
export function parseRepoquery(stdout: string): Map<string, RpmEntry[]> {
  const out = new Map<string, RpmEntry[]>();
  for (const e of parseLines(stdout)) out.set(e.name, [...(out.get(e.name) ?? []), e]);
  return out;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const isAlpha = (c: string | undefined) => c !== undefined && /[A-Za-z]/.test(c);

/**
 * rpmvercmp(3) as rpm 4.18 implements it: alternating digit and letter segments, separators
 * ignored, numbers compared as numbers and newer than letters, "~" sorts before anything (a
 * pre-release), "^" after the base version (a snapshot). Returns -1, 0 or 1.
 */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isDigit(a[i]) && !isAlpha(a[i]) && a[i] !== "~" && a[i] !== "^") i++;
    while (j < b.length && !isDigit(b[j]) && !isAlpha(b[j]) && b[j] !== "~" && b[j] !== "^") j++;
    if (a[i] === "~" || b[j] === "~") {
      if (a[i] !== "~") return 1;
      if (b[j] !== "~") return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === "^" || b[j] === "^") {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== "^") return 1;
      if (b[j] !== "^") return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const same = numeric ? isDigit : isAlpha;
    const si = i;
    const sj = j;
    while (i < a.length && same(a[i])) i++;
    while (j < b.length && same(b[j])) j++;
    let x = a.slice(si, i);
    let y = b.slice(sj, j);
    // segments of different types: the numeric one is newer
    if (y === "") return numeric ? 1 : -1;
    if (numeric) {
      x = x.replace(/^0+/, "");
      y = y.replace(/^0+/, "");
      if (x.length !== y.length) return x.length > y.length ? 1 : -1;
    }
    if (x !== y) return x > y ? 1 : -1;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

export function compareEvr(
  a: Pick<RpmEntry, "epoch" | "version" | "release">,
  b: Pick<RpmEntry, "epoch" | "version" | "release">,
): number {
  const ea = Number(a.epoch) || 0;
  const eb = Number(b.epoch) || 0;
  if (ea !== eb) return ea > eb ? 1 : -1;
  return rpmvercmp(a.version, b.version) || rpmvercmp(a.release, b.release);
}

/**
 * Does a package have the version a recipe pins? "2.0" is any release of 2.0, "2.0-1" that
 * version-release, "1:2.0-1" with its epoch.
 */
export function matchesVersion(e: RpmEntry, wanted: string): boolean {
  const colon = wanted.indexOf(":");
  const epoch = colon >= 0 ? wanted.slice(0, colon) : undefined;
  const rest = colon >= 0 ? wanted.slice(colon + 1) : wanted;
  if (epoch !== undefined && (Number(epoch) || 0) !== (Number(e.epoch) || 0)) return false;
  const dash = rest.lastIndexOf("-");
  if (dash < 0) return e.version === rest;
  return e.version === rest.slice(0, dash) && e.release === rest.slice(dash + 1);
}

/** The newest of these, or undefined. */
export function newest(entries: readonly RpmEntry[]): RpmEntry | undefined {
  return entries.reduce<RpmEntry | undefined>(
    (best, e) => (!best || compareEvr(e, best) > 0 ? e : best),
    undefined,
  );
}

export interface DnfPlan {
  changes: Change[];
  /** `dnf install` arguments: "nginx" or "nginx-1.24.0-1.amzn2023.0.4" (installs, up or down) */
  install: string[];
  /** `dnf upgrade` arguments: installed packages the repositories have newer versions of */
  upgrade: string[];
  remove: string[];
  /** names to install that the cached metadata does not offer (yet: it may be stale) */
  unknown: string[];
}

/**
 * What a package resource must change under dnf. `available` (from `dnf repoquery` over the
 * cached metadata) gives the versions for the messages, the upgrade's target and which names
 * the metadata lacks; `purge` is `remove`: rpm has no separate configuration state to purge.
 */
export function planDnf(
  wanted: WantedPackage[],
  action: PackageAction,
  installed: Map<string, RpmEntry>,
  available: Map<string, RpmEntry[]>,
): DnfPlan {
  const plan: DnfPlan = { changes: [], install: [], upgrade: [], remove: [], unknown: [] };
  for (const w of wanted) {
    const have = installed.get(w.name);
    const offered = available.get(w.name) ?? [];
    if (action === "remove" || action === "purge") {
      if (have) {
        plan.remove.push(w.name);
        plan.changes.push({ key: "remove", what: `remove ${w.name} ${evr(have)}` });
      }
      continue;
    }
    if (w.version !== undefined) {
      if (have && matchesVersion(have, w.version)) continue;
      const target = newest(offered.filter((e) => matchesVersion(e, w.version as string)));
      plan.install.push(`${w.name}-${w.version}`);
      if (!target) plan.unknown.push(w.name);
      const v = target ? evr(target) : w.version;
      plan.changes.push({
        key: "install",
        what: `install ${w.name} ${v}${have ? ` (was ${evr(have)})` : ""}`,
      });
      continue;
    }
    const candidate = newest(offered);
    if (!have) {
      plan.install.push(w.name);
      if (!candidate) plan.unknown.push(w.name);
      plan.changes.push({
        key: "install",
        what: `install ${w.name}${candidate ? ` ${evr(candidate)}` : ""}`,
      });
    } else if (action === "upgrade" && candidate && compareEvr(candidate, have) > 0) {
      plan.upgrade.push(w.name);
      plan.changes.push({ key: "upgrade", what: `upgrade ${w.name} ${evr(have)} -> ${evr(candidate)}` });
    }
  }
  return plan;
}

/** The one line for names no repository has, after the metadata was refreshed. */
export function missingPackagesLine(names: string[]): string {
  return `no package ${names.map((n) => `"${n}"`).join(", ")} in the dnf repositories (the metadata was just refreshed); check the name, or add the repository that has it`;
}

/**
 * dnf's own error line ("Error: Unable to find a match: x") rather than a warning before it; the
 * release-version warning of an installroot without a system-release package is never the cause.
 */
export function dnfErrorLine(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("Unable to detect release version"));
  return lines.find((l) => l.startsWith("Error:")) ?? lines[lines.length - 1] ?? "";
}

/** dnf's pid lock files hold the holder's pid as plain digits; anything else is no pid. */
export function parsePidFile(text: string | undefined): number | undefined {
  const m = /^\s*(\d+)\s*$/.exec(text ?? "");
  return m ? Number(m[1]) : undefined;
}

/**
 * The locks dnf 4 takes (dnf/lock.py: flock on a file holding the locker's pid, under its
 * persistdir and cachedir), relative to the root, and rpm's own transaction lock.
 */
export function dnfLockPaths(rpmLockPath: string | undefined): { install: string[]; metadata: string[] } {
  const metadata = ["/var/cache/dnf/metadata_lock.pid", "/var/cache/dnf/download_lock.pid"];
  return {
    install: ["/var/lib/dnf/rpmdb_lock.pid", ...(rpmLockPath ? [rpmLockPath] : []), ...metadata],
    metadata,
  };
}
