/**
 * The credentials and environment a command runs with as `user` (and `group`): with a user and
 * no group, the user's primary group, and HOME, USER and LOGNAME of the account, as su or
 * systemd's User= set them. Without this a command `user: "nobody"` ran with group root and
 * root's HOME.
 */
import type { ResourceContext } from "../core/resource.ts";

export function runAs(
  ctx: ResourceContext,
  user: string | number | undefined,
  group: string | number | undefined,
): { uid?: number; gid?: number; env: Record<string, string> } {
  if (user === undefined) return { gid: group === undefined ? undefined : ctx.ids.gid(group), env: {} };
  const uid = ctx.ids.uid(user);
  const account = ctx.ids.account?.(uid);
  const gid = group !== undefined ? ctx.ids.gid(group) : account?.gid;
  const env: Record<string, string> = account
    ? { HOME: account.home, USER: account.name, LOGNAME: account.name }
    : {};
  return { uid, gid, env };
}
