/** user: a (system) user account, created, changed or removed with useradd / usermod / userdel. */
import { type Change, defineResource } from "../core/resource.ts";
import { absolutePath, ownerSchema } from "../core/schema-parts.ts";
import { z } from "../core/zod.ts";
import {
  accountId,
  accountName,
  type PasswdEntry,
  parseGroup,
  parsePasswd,
  prefixArgs,
  runAccountTool,
  userGroupsEnabled,
} from "./accounts.ts";

const schema = z.strictObject({
  name: accountName("user"),
  uid: accountId.optional(),
  /** the primary group, by name or gid (declare the group before the user) */
  gid: ownerSchema.optional(),
  home: absolutePath.optional(),
  shell: absolutePath.optional(),
  comment: z
    .string()
    .regex(/^[^:\n]*$/, { message: "the comment cannot hold : or a newline" })
    .optional(),
  /** a system account: uid from the system range, no aging */
  system: z.boolean().optional(),
  /** create the home directory when the user is created (it is never removed) */
  manageHome: z.boolean().optional(),
  action: z.enum(["create", "remove"]).optional(),
});
export type UserProps = z.infer<typeof schema>;

export interface UserState {
  entry?: PasswdEntry;
  /** the gid the `gid` prop names, when that group exists */
  wantGid?: number;
  /** a group named like the user exists (useradd would refuse to make it again) */
  ownGroupExists: boolean;
  /** creating the user makes a group named like it (the root's login.defs: USERGROUPS_ENAB yes) */
  makesOwnGroup?: boolean;
}

/** PURE: the changes, and the command (without --prefix) that makes them. */
export function planUser(p: UserProps, cur: UserState): { changes: Change[]; argv?: string[] } {
  const e = cur.entry;
  if (p.action === "remove")
    return e
      ? { changes: [{ key: "remove", what: `remove user ${p.name}` }], argv: ["userdel", p.name] }
      : { changes: [] };
  if (!e) {
    const details = [
      p.uid !== undefined ? `uid ${p.uid}` : "",
      p.gid !== undefined ? `group ${p.gid}` : "",
      p.home ? `home ${p.home}` : "",
      p.shell ? `shell ${p.shell}` : "",
      p.system ? "system account" : "",
    ].filter(Boolean);
    // without a gid useradd makes a group named like the user, and fails if one exists
    const gid = p.gid !== undefined ? String(p.gid) : cur.ownGroupExists ? p.name : undefined;
    return {
      changes: [
        { key: "create", what: `create user ${p.name}${details.length ? ` (${details.join(", ")})` : ""}` },
      ],
      argv: [
        "useradd",
        ...(p.system ? ["--system"] : []),
        ...(p.uid !== undefined ? ["--uid", String(p.uid)] : []),
        ...(gid !== undefined ? ["--gid", gid] : []),
        ...(p.home ? ["--home-dir", p.home] : []),
        ...(p.shell ? ["--shell", p.shell] : []),
        ...(p.comment !== undefined ? ["--comment", p.comment] : []),
        p.manageHome ? "--create-home" : "--no-create-home",
        p.name,
      ],
    };
  }
  const changes: Change[] = [];
  const args: string[] = [];
  if (p.uid !== undefined && p.uid !== e.uid) {
    changes.push({ key: "uid", what: `set uid of ${p.name} to ${p.uid} (was ${e.uid})` });
    args.push("--uid", String(p.uid));
  }
  if (p.gid !== undefined && cur.wantGid !== e.gid) {
    changes.push({ key: "group", what: `set primary group of ${p.name} to ${p.gid} (was gid ${e.gid})` });
    args.push("--gid", String(p.gid));
  }
  if (p.home !== undefined && p.home !== e.home) {
    changes.push({ key: "home", what: `set home of ${p.name} to ${p.home} (was ${e.home})` });
    args.push("--home", p.home);
  }
  if (p.shell !== undefined && p.shell !== e.shell) {
    changes.push({ key: "shell", what: `set shell of ${p.name} to ${p.shell} (was ${e.shell})` });
    args.push("--shell", p.shell);
  }
  if (p.comment !== undefined && p.comment !== e.comment) {
    changes.push({ key: "comment", what: `set comment of ${p.name} to "${p.comment}" (was "${e.comment}")` });
    args.push("--comment", p.comment);
  }
  return changes.length ? { changes, argv: ["usermod", ...args, p.name] } : { changes };
}

export const user = defineResource<UserProps, UserState>({
  kind: "user",
  nameProp: "name",
  pathName: false,
  schema,
  actions: ["create", "remove"],
  defaultAction: "create",
  defaultNotifyAction: "create",
  id: (p) => `user[${p.name}]`,
  read(ctx, p) {
    const groups = parseGroup(ctx.fs.readText("/etc/group") ?? "");
    const entry = parsePasswd(ctx.fs.readText("/etc/passwd") ?? "").get(p.name);
    const ownGroupExists = groups.has(p.name);
    return {
      entry,
      wantGid: typeof p.gid === "number" ? p.gid : p.gid !== undefined ? groups.get(p.gid)?.gid : undefined,
      ownGroupExists,
      // looked up only for a user about to be made without a group (what a dry run reports)
      ...(!entry && p.gid === undefined && !ownGroupExists && (p.action ?? "create") === "create"
        ? { makesOwnGroup: userGroupsEnabled(ctx.fs.readText("/etc/login.defs")) }
        : {}),
    };
  },
  diff: (p, cur) => planUser(p, cur).changes,
  // a user made: a later owner of that name is no failure of the dry run, nor is its own group
  // when useradd makes one
  dryRunPaths: (p, changes, cur) =>
    changes.some((c) => c.key === "create")
      ? { makes: [], makesUsers: [p.name], makesGroups: cur.makesOwnGroup ? [p.name] : [] }
      : { makes: [] },
  async apply(ctx, p, _changes, cur) {
    const { argv } = planUser(p, cur);
    if (!argv) return;
    await runAccountTool(ctx, [argv[0], ...prefixArgs(ctx), ...argv.slice(1)]);
  },
});
