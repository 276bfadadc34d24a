/**
 * Mode and owner are managed the same way by file, template and directory: read from a stat,
 * compared only when the props ask for them, changed in place.
 */
import { RunError } from "../core/errors.ts";
import {
  type Change,
  type DryRunPaths,
  formatMode,
  parseMode,
  type ResourceContext,
} from "../core/resource.ts";
import type { FileStat } from "../host/root-fs.ts";

export interface OwnershipProps {
  mode?: string | number;
  owner?: string | number;
  group?: string | number;
}

/** A stat with the owner's and group's names looked up (read does that, so diff stays pure). */
export interface OwnedStat extends FileStat {
  user: string;
  groupName: string;
}

export function withNames(ctx: ResourceContext, st: FileStat): OwnedStat {
  return { ...st, user: ctx.ids.userName(st.uid), groupName: ctx.ids.groupName(st.gid) };
}

/** Changes to mode/owner/group of an existing entry. Pure. */
export function ownershipChanges(props: OwnershipProps, st: OwnedStat): Change[] {
  const changes: Change[] = [];
  if (props.mode !== undefined && parseMode(props.mode) !== st.mode)
    changes.push({
      key: "mode",
      what: `set mode to ${formatMode(parseMode(props.mode))} (was ${formatMode(st.mode)})`,
    });
  if (props.owner !== undefined && !sameId(props.owner, st.uid, st.user))
    changes.push({ key: "owner", what: `set owner to ${props.owner} (was ${st.user})` });
  if (props.group !== undefined && !sameId(props.group, st.gid, st.groupName))
    changes.push({ key: "group", what: `set group to ${props.group} (was ${st.groupName})` });
  return changes;
}

function sameId(wanted: string | number, id: number, name: string): boolean {
  return typeof wanted === "number" ? wanted === id : wanted === name;
}

export function resolveIds(ctx: ResourceContext, props: OwnershipProps): { uid?: number; gid?: number } {
  return {
    uid: props.owner === undefined ? undefined : ctx.ids.uid(props.owner),
    gid: props.group === undefined ? undefined : ctx.ids.gid(props.group),
  };
}

/** Bring mode and owner of an existing path in line. */
export function applyOwnership(ctx: ResourceContext, path: string, props: OwnershipProps): void {
  const { uid, gid } = resolveIds(ctx, props);
  if (uid !== undefined || gid !== undefined) ctx.fs.chown(path, uid, gid);
  if (props.mode !== undefined) ctx.fs.chmod(path, parseMode(props.mode));
}

/** PURE: the directory `p` is in ("/" for a top-level path). */
export function parentOf(p: string): string {
  const trimmed = p.replace(/\/+$/, "");
  return trimmed.slice(0, trimmed.lastIndexOf("/")) || "/";
}

/** PURE: every directory above `p`, nearest first, "/" left out. */
export function ancestorsOf(p: string): string[] {
  const out: string[] = [];
  for (let at = parentOf(p); at !== "/"; at = parentOf(at)) out.push(at);
  return out;
}

/** PURE: what a file or link made where its directory is missing fails with. */
export function missingParentProblem(p: string, what: string): string {
  const parent = parentOf(p);
  return `parent directory ${parent} does not exist; declare directory("${parent}") before this ${what}`;
}

/** A file or link is made in an existing directory: the recipe declares it first. */
export function requireParentDir(ctx: ResourceContext, p: string, what: string): void {
  if (ctx.fs.stat(parentOf(p))?.type !== "directory") throw new RunError(missingParentProblem(p, what));
}

/** PURE: the owner and group names an apply looks up (see ResourceKind.dryRunPaths). */
export function accountsOf(props: OwnershipProps): Pick<DryRunPaths, "users" | "groups"> {
  return {
    users: props.owner === undefined ? [] : [props.owner],
    groups: props.group === undefined ? [] : [props.group],
  };
}

/** PURE: a dry run's paths for a file or link that is made (see ResourceKind.dryRunPaths). */
export function madeInParent(p: string, what: string, changes: Change[]): DryRunPaths {
  if (!changes.some((c) => c.key === "create" || c.key === "replace")) return { makes: [] };
  return { makes: [p], needs: { dir: parentOf(p), problem: missingParentProblem(p, what) } };
}
