/**
 * package: system packages through apt (Debian, Ubuntu) or dnf (Amazon Linux, RHEL), chosen from
 * the root's /etc/os-release unless the recipe names a provider. On the host's own root both
 * install, upgrade and remove. Under a sandbox root apt only checks the host's packages (they are
 * the sandbox's) and fails clearly when the image lacks one; dnf installs into the root itself
 * (`--installroot`), from the repositories the root declares.
 */
import { RunError } from "../core/errors.ts";
import { defineResource } from "../core/resource.ts";
import { z } from "../core/zod.ts";
import { type PlatformFamily, readPlatform } from "../host/platform.ts";
import { applyPackagePlan, hostApt, queryInstalled, queryPolicy } from "../providers/apt.ts";
import {
  type AptPolicy,
  type DpkgEntry,
  type PackageAction,
  planPackages,
  sandboxProblems,
  type WantedPackage,
} from "../providers/apt-plan.ts";
import { applyDnfPlan, hostDnf, queryAvailable, queryRpm } from "../providers/dnf.ts";
import { planDnf, type RpmEntry } from "../providers/dnf-plan.ts";

/** Debian policy: lowercase letters, digits, + - and ., at least two characters. */
const DEBIAN_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const debianHint = "Debian package names are lowercase letters, digits, + - and . (at least two characters)";
/** rpm names also have capitals and _ ("NetworkManager", "perl-Data-Dumper", "libstdc++"). */
const RPM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_+.-]+$/;
const rpmHint = "rpm package names are letters, digits, _ + - and . (at least two characters)";

/** a day: a fresh server installs from an index at most that old, else refreshes it first */
export const DEFAULT_CACHE_VALID_TIME = 86_400;
/** at boot cloud-init's own package run can hold the lock for minutes */
export const DEFAULT_LOCK_TIMEOUT = 300;

export type PackageProvider = "apt" | "dnf";

const schema = z
  .strictObject({
    /** the package; with `names`, just the resource's label */
    name: z.string().min(1),
    /** several packages, installed in one apt-get (or dnf) call */
    names: z.array(z.string()).min(1).optional(),
    /**
     * an exact version: apt's "1.22.1-9"; dnf's "2.0" (any release), "2.0-1" or "1:2.0-1".
     * A different installed version is replaced.
     */
    version: z
      .string()
      .regex(/^[A-Za-z0-9._+~^:-]+$/, {
        message: 'expected a package version such as "1.22.1-9" (apt) or "1.24.0-1.amzn2023" (dnf)',
      })
      .optional(),
    action: z.enum(["install", "upgrade", "remove", "purge"]).optional(),
    /** apt or dnf; unset: dnf when the root's os-release is of the rhel family, else apt */
    provider: z.enum(["apt", "dnf"]).optional(),
    /** seconds the package index counts as fresh (Ansible's cache_valid_time) */
    cacheValidTime: z.number().int().min(0).optional(),
    /** seconds to wait for the package manager's lock before failing */
    lockTimeout: z.number().min(0).optional(),
  })
  .superRefine((p, issues) => {
    // Debian's rule is the stricter one and holds for most rpm names too: a name only rpm allows
    // ("NetworkManager") needs provider "dnf", so it cannot reach apt by the platform's choice
    const [valid, hint] = p.provider === "dnf" ? [RPM_NAME, rpmHint] : [DEBIAN_NAME, debianHint];
    if (p.names === undefined && !valid.test(p.name))
      issues.addIssue({
        code: "custom",
        path: ["name"],
        message: `invalid package name "${p.name}": ${hint}`,
      });
    p.names?.forEach((n, i) => {
      if (!valid.test(n))
        issues.addIssue({ code: "custom", path: ["names", i], message: `invalid package name: ${hint}` });
    });
    if (p.version !== undefined && p.names !== undefined && p.names.length > 1)
      issues.addIssue({
        code: "custom",
        path: ["version"],
        message: "a version pins one package: declare one package resource per pinned package",
      });
  });
export type PackageProps = z.infer<typeof schema>;

export type PackageState =
  | {
      provider: "apt";
      /** under a sandbox root: read checked the host's packages, nothing can change */
      sandbox: boolean;
      installed: Map<string, DpkgEntry>;
      candidates: Map<string, AptPolicy>;
    }
  | {
      provider: "dnf";
      /** dnf changes a sandbox root itself: never check-only */
      sandbox: false;
      installed: Map<string, RpmEntry>;
      /** what the cached repository metadata offers */
      available: Map<string, RpmEntry[]>;
    };

export function wantedPackages(p: PackageProps): WantedPackage[] {
  return (p.names ?? [p.name]).map((name) => ({ name, version: p.version }));
}

/** PURE: the recipe's provider, else the one the root's platform family uses. */
export function choosePackageProvider(
  requested: PackageProvider | undefined,
  family: PlatformFamily,
): PackageProvider {
  return requested ?? (family === "rhel" ? "dnf" : "apt");
}

export const packageKind = defineResource<PackageProps, PackageState>({
  kind: "package",
  nameProp: "name",
  pathName: false,
  schema,
  actions: ["install", "upgrade", "remove", "purge"],
  defaultAction: "install",
  defaultNotifyAction: "install",
  id: (p) => `package[${p.name}]`,

  async read(ctx, p) {
    const wanted = wantedPackages(p);
    const action: PackageAction = p.action ?? "install";
    if (choosePackageProvider(p.provider, readPlatform(ctx.fs).family) === "dnf") {
      const host = hostDnf(ctx);
      const installed = await queryRpm(
        host,
        wanted.map((w) => w.name),
      );
      const ask =
        action === "upgrade" || action === "install"
          ? wanted.filter((w) => action === "upgrade" || !installed.has(w.name) || w.version !== undefined)
          : [];
      const available = await queryAvailable(
        host,
        ask.map((w) => w.name),
      );
      return { provider: "dnf", sandbox: false, installed, available };
    }
    const host = hostApt(ctx);
    const installed = await queryInstalled(
      host,
      wanted.map((w) => w.name),
    );
    if (!ctx.fs.isHostRoot) {
      // failing here (not in apply) makes a dry run in a sandbox predict the failure too
      const problems = sandboxProblems(wanted, action, installed);
      if (problems.length > 0) throw new RunError(problems.join("; "));
      return { provider: "apt", sandbox: true, installed, candidates: new Map() };
    }
    const ask =
      action === "upgrade"
        ? wanted
        : action === "install"
          ? wanted.filter((w) => !installed.get(w.name)?.installed || w.version !== undefined)
          : [];
    const candidates = await queryPolicy(
      host,
      ask.map((w) => w.name),
    );
    return { provider: "apt", sandbox: false, installed, candidates };
  },

  diff(p, cur) {
    const action = p.action ?? "install";
    if (cur.provider === "dnf")
      return planDnf(wantedPackages(p), action, cur.installed, cur.available).changes;
    if (cur.sandbox) return [];
    return planPackages(wantedPackages(p), action, cur.installed, cur.candidates).changes;
  },

  async apply(ctx, p, _changes, cur) {
    const opts = {
      cacheValidTime: p.cacheValidTime ?? DEFAULT_CACHE_VALID_TIME,
      lockTimeout: p.lockTimeout ?? DEFAULT_LOCK_TIMEOUT,
    };
    const action = p.action ?? "install";
    if (cur.provider === "dnf") {
      await applyDnfPlan(
        hostDnf(ctx),
        planDnf(wantedPackages(p), action, cur.installed, cur.available),
        opts,
      );
      return;
    }
    if (cur.sandbox || !ctx.fs.isHostRoot)
      throw new RunError("a sandbox root cannot change packages: change them on the image");
    await applyPackagePlan(
      hostApt(ctx),
      planPackages(wantedPackages(p), action, cur.installed, cur.candidates),
      opts,
    );
  },
});
