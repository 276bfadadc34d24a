/** group: a system group, created or removed with groupadd / groupmod / groupdel. */
import { type Change, defineResource } from "../core/resource.ts";
import { z } from "../core/zod.ts";
import {
  accountId,
  accountName,
  type GroupEntry,
  parseGroup,
  prefixArgs,
  runAccountTool,
} from "./accounts.ts";

const schema = z.strictObject({
  name: accountName("group"),
  gid: accountId.optional(),
  /** a system group (gid from the system range) */
  system: z.boolean().optional(),
  action: z.enum(["create", "remove"]).optional(),
});
export type GroupProps = z.infer<typeof schema>;

export interface GroupState {
  entry?: GroupEntry;
}

/** PURE: what groupadd/groupmod/groupdel must do, as changes and the command that does them. */
export function planGroup(p: GroupProps, cur: GroupState): { changes: Change[]; argv?: string[] } {
  const e = cur.entry;
  if (p.action === "remove")
    return e
      ? { changes: [{ key: "remove", what: `remove group ${p.name}` }], argv: ["groupdel", p.name] }
      : { changes: [] };
  if (!e) {
    const details = [p.gid !== undefined ? `gid ${p.gid}` : "", p.system ? "system group" : ""].filter(
      Boolean,
    );
    return {
      changes: [
        { key: "create", what: `create group ${p.name}${details.length ? ` (${details.join(", ")})` : ""}` },
      ],
      argv: [
        "groupadd",
        ...(p.system ? ["--system"] : []),
        ...(p.gid !== undefined ? ["--gid", String(p.gid)] : []),
        p.name,
      ],
    };
  }
  if (p.gid !== undefined && p.gid !== e.gid)
    return {
      changes: [{ key: "gid", what: `set gid of ${p.name} to ${p.gid} (was ${e.gid})` }],
      argv: ["groupmod", "--gid", String(p.gid), p.name],
    };
  return { changes: [] };
}

export const group = defineResource<GroupProps, GroupState>({
  kind: "group",
  nameProp: "name",
  pathName: false,
  schema,
  actions: ["create", "remove"],
  defaultAction: "create",
  defaultNotifyAction: "create",
  id: (p) => `group[${p.name}]`,
  read: (ctx, p) => ({ entry: parseGroup(ctx.fs.readText("/etc/group") ?? "").get(p.name) }),
  diff: (p, cur) => planGroup(p, cur).changes,
  dryRunPaths: (p, changes) => ({
    makes: [],
    makesGroups: changes.some((c) => c.key === "create") ? [p.name] : [],
  }),
  async apply(ctx, p, _changes, cur) {
    const { argv } = planGroup(p, cur);
    if (!argv) return;
    // the tool's options go before the name; --prefix is one of them
    await runAccountTool(ctx, [argv[0], ...prefixArgs(ctx), ...argv.slice(1)]);
  },
});
