/** link: a symbolic link at `path` pointing `to` (stored as given; resolved inside the root). */
import { RunError } from "../core/errors.ts";
import { type Change, type DryRunPaths, defineResource } from "../core/resource.ts";
import { absolutePath } from "../core/schema-parts.ts";
import { z } from "../core/zod.ts";
import { madeInParent, requireParentDir } from "./ownership.ts";

const schema = z.strictObject({
  path: absolutePath,
  to: z.string().min(1),
  action: z.enum(["create", "delete"]).optional(),
});
export type LinkProps = z.infer<typeof schema>;
type Current = { kind: "missing" } | { kind: "link"; to: string } | { kind: "other"; type: string };

export const link = defineResource<LinkProps, Current>({
  kind: "link",
  nameProp: "path",
  pathName: true,
  schema,
  actions: ["create", "delete"],
  defaultAction: "create",
  id: (p) => `link[${p.path}]`,
  read(ctx, p) {
    const st = ctx.fs.lstat(p.path);
    if (!st) return { kind: "missing" };
    if (st.type === "link") return { kind: "link", to: ctx.fs.readLink(p.path) ?? "" };
    return { kind: "other", type: st.type };
  },
  diff(p, cur) {
    if (p.action === "delete")
      return cur.kind === "link" ? [{ key: "delete", what: `delete link ${p.path}` }] : [];
    if (cur.kind === "missing") return [{ key: "create", what: `create link ${p.path} -> ${p.to}` }];
    if (cur.kind === "other")
      return [{ key: "replace", what: `replace ${cur.type} ${p.path} with link -> ${p.to}` }];
    return cur.to === p.to ? [] : [{ key: "target", what: `point ${p.path} to ${p.to} (was ${cur.to})` }];
  },
  apply(ctx, p, _changes, cur) {
    if (p.action === "delete") {
      ctx.fs.remove(p.path);
      return;
    }
    const refused = linkRefusal(p, cur);
    if (refused) throw new RunError(refused);
    requireParentDir(ctx, p.path, "link");
    ctx.fs.symlink(p.path, p.to); // atomic replace of a file or an old link
  },
  dryRunPaths: (p, changes, cur) => linkDryRunPaths(p, changes, cur),
});

/** PURE: the error apply refuses what read found at the path with, or undefined. */
function linkRefusal(p: LinkProps, cur: Current): string | undefined {
  if (p.action === "delete" || cur.kind !== "other" || cur.type !== "directory") return undefined;
  return `${p.path} is a directory; remove it before making a link there`;
}

/** PURE: what a dry run models of a link's apply (see ResourceKind.dryRunPaths). */
export function linkDryRunPaths(p: LinkProps, changes: Change[], cur: Current): DryRunPaths {
  if (p.action === "delete")
    return { makes: [], removes: changes.some((c) => c.key === "delete") ? [p.path] : [] };
  const problem = linkRefusal(p, cur);
  return {
    ...madeInParent(p.path, "link", changes),
    ...(problem ? { refused: { path: p.path, problem } } : {}),
  };
}
