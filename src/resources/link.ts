/** link: a symbolic link at `path` pointing `to` (stored as given; resolved inside the root). */
import { defineResource } from "../core/resource.ts";
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
    if (cur.kind === "other" && cur.type === "directory")
      throw new Error(`${p.path} is a directory; remove it before making a link there`);
    requireParentDir(ctx, p.path, "link");
    ctx.fs.symlink(p.path, p.to); // atomic replace of a file or an old link
  },
  dryRunPaths: (p, changes) => madeInParent(p.path, "link", changes),
});
