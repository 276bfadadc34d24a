/**
 * package: Debian packages through apt. On the host's own root it installs, upgrades, removes
 * and purges; under a sandbox root the host's packages are what the sandbox has, so it only
 * checks them and fails clearly when the image lacks one.
 */
import { RunError } from "../core/errors.ts";
import { defineResource } from "../core/resource.ts";
import { z } from "../core/zod.ts";
import { applyPackagePlan, hostApt, queryInstalled, queryPolicy } from "../providers/apt.ts";
import {
  type AptPolicy,
  type DpkgEntry,
  type PackageAction,
  planPackages,
  sandboxProblems,
  type WantedPackage,
} from "../providers/apt-plan.ts";

/** Debian policy: lowercase letters, digits, + - and ., at least two characters. */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const nameHint = "Debian package names are lowercase letters, digits, + - and . (at least two characters)";

/** a day: a fresh server installs from an index at most that old, else refreshes it first */
export const DEFAULT_CACHE_VALID_TIME = 86_400;
/** at boot cloud-init's own apt run can hold the dpkg lock for minutes */
export const DEFAULT_LOCK_TIMEOUT = 300;

const schema = z
  .strictObject({
    /** the package; with `names`, just the resource's label */
    name: z.string().min(1),
    /** several packages, installed in one apt-get call */
    names: z
      .array(z.string().regex(PACKAGE_NAME, { message: `invalid package name: ${nameHint}` }))
      .min(1)
      .optional(),
    /** an exact version ("1.22.1-9"); a different installed version is replaced */
    version: z
      .string()
      .regex(/^[A-Za-z0-9.+~:-]+$/, { message: 'expected a Debian version such as "1.22.1-9"' })
      .optional(),
    action: z.enum(["install", "upgrade", "remove", "purge"]).optional(),
    /** seconds the package index counts as fresh (Ansible's cache_valid_time) */
    cacheValidTime: z.number().int().min(0).optional(),
    /** seconds to wait for the dpkg lock before failing */
    lockTimeout: z.number().min(0).optional(),
  })
  .superRefine((p, issues) => {
    if (p.names === undefined && !PACKAGE_NAME.test(p.name))
      issues.addIssue({
        code: "custom",
        path: ["name"],
        message: `invalid package name "${p.name}": ${nameHint}`,
      });
    if (p.version !== undefined && p.names !== undefined && p.names.length > 1)
      issues.addIssue({
        code: "custom",
        path: ["version"],
        message: "a version pins one package: declare one package resource per pinned package",
      });
  });
export type PackageProps = z.infer<typeof schema>;

export interface PackageState {
  /** under a sandbox root: read checked the host's packages, nothing can change */
  sandbox: boolean;
  installed: Map<string, DpkgEntry>;
  candidates: Map<string, AptPolicy>;
}

export function wantedPackages(p: PackageProps): WantedPackage[] {
  return (p.names ?? [p.name]).map((name) => ({ name, version: p.version }));
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
    const host = hostApt(ctx);
    const wanted = wantedPackages(p);
    const action: PackageAction = p.action ?? "install";
    const installed = await queryInstalled(
      host,
      wanted.map((w) => w.name),
    );
    if (!ctx.fs.isHostRoot) {
      // failing here (not in apply) makes a dry run in a sandbox predict the failure too
      const problems = sandboxProblems(wanted, action, installed);
      if (problems.length > 0) throw new RunError(problems.join("; "));
      return { sandbox: true, installed, candidates: new Map() };
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
    return { sandbox: false, installed, candidates };
  },

  diff(p, cur) {
    if (cur.sandbox) return [];
    return planPackages(wantedPackages(p), p.action ?? "install", cur.installed, cur.candidates).changes;
  },

  async apply(ctx, p, _changes, cur) {
    if (cur.sandbox || !ctx.fs.isHostRoot)
      throw new RunError("a sandbox root cannot change packages: change them on the image");
    const plan = planPackages(wantedPackages(p), p.action ?? "install", cur.installed, cur.candidates);
    await applyPackagePlan(hostApt(ctx), plan, {
      cacheValidTime: p.cacheValidTime ?? DEFAULT_CACHE_VALID_TIME,
      lockTimeout: p.lockTimeout ?? DEFAULT_LOCK_TIMEOUT,
    });
  },
});
