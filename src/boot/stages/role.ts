/** Stage role: which role this server plays, from the configured source (src/cloud/role-discovery.ts). */
import * as path from "node:path";
import type { InstanceIdentity } from "../../cloud/metadata.ts";
import { discoverRole, type RoleSource } from "../../cloud/role-discovery.ts";
import { listDir } from "../../host/host-files.ts";

/** Role names that have a file in the checkout's roles/ (json, yaml, yml). */
export function rolesIn(dir: string): string[] {
  let names: string[];
  try {
    names = listDir(path.join(dir, "roles"));
  } catch {
    return [];
  }
  return [
    ...new Set(names.filter((n) => /\.(json|ya?ml)$/.test(n)).map((n) => n.replace(/\.(json|ya?ml)$/, ""))),
  ].sort();
}

export function pickRole(
  dir: string,
  source: RoleSource,
  identity: InstanceIdentity | undefined,
  preference?: string[],
): string {
  return discoverRole({ source, identity: identity ?? {}, roles: rolesIn(dir), preference });
}
