/** directory: a directory with a mode and owner; actions create, delete. */
import { RunError } from "../core/errors.ts";
import {
  type Change,
  type DryRunPaths,
  defineResource,
  formatMode,
  parseMode,
  type ResourceContext,
} from "../core/resource.ts";
import { absolutePath, modeSchema, ownerSchema } from "../core/schema-parts.ts";
import { z } from "../core/zod.ts";
import {
  accountsOf,
  ancestorsOf,
  applyOwnership,
  type OwnedStat,
  ownershipChanges,
  parentOf,
  withNames,
} from "./ownership.ts";

const schema = z.strictObject({
  path: absolutePath,
  mode: modeSchema.optional(),
  owner: ownerSchema.optional(),
  group: ownerSchema.optional(),
  /** create missing parents (create) / delete with contents (delete) */
  recursive: z.boolean().optional(),
  action: z.enum(["create", "delete"]).optional(),
});
export type DirectoryProps = z.infer<typeof schema>;
type Current = { kind: "missing" } | { kind: "directory"; stat: OwnedStat } | { kind: "other"; type: string };

export const directory = defineResource<DirectoryProps, Current>({
  kind: "directory",
  nameProp: "path",
  pathName: true,
  schema,
  actions: ["create", "delete"],
  defaultAction: "create",
  id: (p) => `directory[${p.path}]`,

  read(ctx, p) {
    const st = ctx.fs.lstat(p.path);
    if (!st) return { kind: "missing" };
    // deleting: a link is not the directory it points to (rmdir fails on it, rm -r would empty
    // what it points to): said so, the link left alone
    if (st.type === "link" && (p.action ?? "create") === "delete")
      throw new RunError(
        `${p.path} is a link, not a directory; remove it with link("${p.path}", { action: "delete" })`,
      );
    // a link to a directory counts as the directory (as `cd` would), resolved inside the root
    const real = st.type === "link" ? ctx.fs.stat(p.path) : st;
    if (real?.type === "directory") return { kind: "directory", stat: withNames(ctx, real) };
    // a file in the way holds someone's data: neither replaced nor deleted (as file refuses a
    // directory); a link in the way holds none, and is replaced. Refused here, so a dry run says so.
    if (st.type !== "link")
      throw new RunError(
        `${p.path} is a ${st.type}, not a directory; remove it first (file("${p.path}", { action: "delete" })) or choose another path`,
      );
    return { kind: "other", type: real ? `link to a ${real.type}` : "dangling link" };
  },

  diff(p, cur) {
    if ((p.action ?? "create") === "delete")
      return cur.kind === "missing" ? [] : [{ key: "delete", what: "delete directory" }];
    if (cur.kind === "other") return [{ key: "replace", what: `replace ${cur.type} with a directory` }];
    if (cur.kind === "missing") {
      const mode = formatMode(parseMode(p.mode ?? "0755"));
      const changes: Change[] = [
        { key: "create", what: `create directory ${p.path}` },
        { key: "mode", what: `set mode to ${mode}` },
      ];
      if (p.owner !== undefined) changes.push({ key: "owner", what: `set owner to ${p.owner}` });
      if (p.group !== undefined) changes.push({ key: "group", what: `set group to ${p.group}` });
      return changes;
    }
    return ownershipChanges(p, cur.stat);
  },

  dryRunPaths: (p, changes) => directoryDryRunPaths(p, changes),

  apply(ctx, p, _changes, cur) {
    if ((p.action ?? "create") === "delete") {
      if (p.recursive) ctx.fs.remove(p.path, true);
      else if (ctx.fs.readDir(p.path).length > 0) throw new RunError(notEmptyProblem(p.path));
      else ctx.fs.rmdir(p.path);
      return;
    }
    if (cur.kind === "other") ctx.fs.remove(p.path);
    if (cur.kind !== "directory") {
      if (!p.recursive && ctx.fs.stat(parentOf(p.path))?.type !== "directory")
        throw new RunError(missingDirParentProblem(p.path));
      try {
        ctx.fs.mkdir(p.path, parseMode(p.mode ?? "0755"), p.recursive ?? false);
      } catch (err) {
        // only a failure looks further: a file where a parent should be is named as one, inside
        // the root, not as the link the resolver guards against
        const inTheWay = p.recursive ? notADirectoryAbove(ctx, p.path) : undefined;
        if (inTheWay) throw new RunError(inTheWay);
        throw err;
      }
    }
    applyOwnership(ctx, p.path, p);
  },
});

/** PURE: what a dry run models of a directory's apply (see ResourceKind.dryRunPaths). */
export function directoryDryRunPaths(p: DirectoryProps, changes: Change[]): DryRunPaths {
  if ((p.action ?? "create") === "delete") {
    if (!changes.some((c) => c.key === "delete")) return { makes: [] };
    return p.recursive
      ? { makes: [], removes: [p.path] }
      : { makes: [], removes: [p.path], empty: { dir: p.path, problem: notEmptyProblem(p.path) } };
  }
  const ids = accountsOf(p);
  if (!changes.some((c) => c.key === "create" || c.key === "replace")) return { makes: [], ...ids };
  if (p.recursive)
    return {
      makes: [p.path, ...ancestorsOf(p.path)],
      ancestors: { path: p.path, problem: (at, type) => notADirectoryProblem(p.path, at, type) },
      ...ids,
    };
  return {
    makes: [p.path],
    needs: { dir: parentOf(p.path), problem: missingDirParentProblem(p.path) },
    ...ids,
  };
}

/** PURE: what a directory made where its parent is missing fails with. */
function missingDirParentProblem(p: string): string {
  return `parent directory ${parentOf(p)} does not exist; declare it first or set recursive: true`;
}

/** PURE: what deleting a directory that is not empty, without recursive, fails with. */
function notEmptyProblem(p: string): string {
  return `${p} is not empty; set recursive: true to delete it with its contents`;
}

/** PURE: what a directory made with its parents fails with where one of them is not a directory. */
export function notADirectoryProblem(p: string, at: string, type: string): string {
  const [what, remove] =
    type === "file"
      ? ["a file", `remove it first (file("${at}", { action: "delete" }))`]
      : ["a special file", "remove it first"];
  return `${at} is ${what}, not a directory, so directory ${p} cannot be made under it; ${remove} or choose another path`;
}

/** The first of `p`'s parents that exists, when it is not a directory: the error that names it. */
function notADirectoryAbove(ctx: ResourceContext, p: string): string | undefined {
  try {
    for (const at of ancestorsOf(p)) {
      const st = ctx.fs.stat(at);
      if (st) return st.type === "directory" ? undefined : notADirectoryProblem(p, at, st.type);
    }
  } catch {
    // the walk itself refused (a link another user made): the mkdir's own error says so
  }
  return undefined;
}

export type { Change };
