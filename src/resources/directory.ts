/** directory: a directory with a mode and owner; actions create, delete. */
import { RunError } from "../core/errors.ts";
import { type Change, defineResource, formatMode, parseMode } from "../core/resource.ts";
import { absolutePath, modeSchema, ownerSchema } from "../core/schema-parts.ts";
import { z } from "../core/zod.ts";
import {
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

  dryRunPaths(p, changes) {
    if (!changes.some((c) => c.key === "create")) return { makes: [] };
    if (p.recursive) return { makes: [p.path, ...ancestorsOf(p.path)] };
    return { makes: [p.path], needs: { dir: parentOf(p.path), problem: missingDirParentProblem(p.path) } };
  },

  apply(ctx, p, _changes, cur) {
    if ((p.action ?? "create") === "delete") {
      if (p.recursive) ctx.fs.remove(p.path, true);
      else if (ctx.fs.readDir(p.path).length > 0)
        throw new RunError(`${p.path} is not empty; set recursive: true to delete it with its contents`);
      else ctx.fs.rmdir(p.path);
      return;
    }
    if (cur.kind === "other") ctx.fs.remove(p.path);
    if (cur.kind !== "directory") {
      if (!p.recursive && ctx.fs.stat(parentOf(p.path))?.type !== "directory")
        throw new RunError(missingDirParentProblem(p.path));
      ctx.fs.mkdir(p.path, parseMode(p.mode ?? "0755"), p.recursive ?? false);
    }
    applyOwnership(ctx, p.path, p);
  },
});

/** PURE: what a directory made where its parent is missing fails with. */
function missingDirParentProblem(p: string): string {
  return `parent directory ${parentOf(p)} does not exist; declare it first or set recursive: true`;
}

export type { Change };
