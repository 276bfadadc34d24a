/**
 * Which role this server plays: PURE decision code, no I/O. Tested from fixtures.
 *
 * Role sources:
 *   security-groups   the one security group that has a role file (a preference order settles ties)
 *   tag:<Key>         the value of the instance tag <Key> (tags must be allowed in metadata)
 *   autoscaling-group the `aws:autoscaling:groupName` tag
 *   static:<name>     always <name>
 *   user-data         a line `role=<name>`, or `{ "role": ... }` as JSON or YAML, in the user data
 *
 * Errors are one line each. InputError (exit 2) when muster's own configuration is wrong (a bad
 * source, a static role or preference naming no role file); RunError (exit 1) when the facts of
 * this instance do not lead to exactly one existing role.
 */
import { parse as parseYaml } from "yaml";
import { InputError, PermanentRunError, RunError } from "../core/errors.ts";

export type RoleSource =
  | { kind: "security-groups" }
  | { kind: "tag"; key: string }
  | { kind: "autoscaling-group" }
  | { kind: "static"; name: string }
  | { kind: "user-data" };

/** The facts role discovery looks at (a subset of the metadata identity). */
export interface RoleFacts {
  instanceId?: string;
  securityGroups?: readonly string[];
  /** undefined = tags are not allowed in instance metadata. */
  tags?: Readonly<Record<string, string>>;
  userData?: string;
}

export interface DiscoverRoleInput {
  source: RoleSource | string;
  identity: RoleFacts;
  /** Role names that have a file in the config repo's roles/. */
  roles: readonly string[];
  /** Tie-break for several matching security groups: the first listed that matches wins. */
  preference?: readonly string[];
}

export const AUTOSCALING_GROUP_TAG = "aws:autoscaling:groupName";

const SOURCE_FORMS = "security-groups, tag:<Key>, autoscaling-group, static:<name> or user-data";

/** Parse "tag:Role", "static:web", ... */
export function parseRoleSource(text: string): RoleSource {
  const s = typeof text === "string" ? text.trim() : "";
  if (s === "security-groups") return { kind: "security-groups" };
  if (s === "autoscaling-group") return { kind: "autoscaling-group" };
  if (s === "user-data") return { kind: "user-data" };
  if (s.startsWith("tag:")) {
    const key = s.slice(4).trim();
    if (!key) throw new InputError(`role source "${s}": tag: needs a tag key, e.g. tag:Role`);
    return { kind: "tag", key };
  }
  if (s.startsWith("static:")) {
    const name = s.slice(7).trim();
    if (!name) throw new InputError(`role source "${s}": static: needs a role name, e.g. static:web`);
    // a role is a file of roles/: a name with a slash, a space or a leading dot names none, and
    // was found out only after the fetch, at the role stage
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
      throw new InputError(
        `role source "${s}": "${name}" is not a role name (letters, digits, ".", "_" and "-": the name of a file in roles/)`,
      );
    return { kind: "static", name };
  }
  throw new InputError(`role source "${s}" is not one of ${SOURCE_FORMS}`);
}

export function formatRoleSource(source: RoleSource): string {
  switch (source.kind) {
    case "tag":
      return `tag:${source.key}`;
    case "static":
      return `static:${source.name}`;
    default:
      return source.kind;
  }
}

const list = (names: readonly string[]) => (names.length ? names.map((n) => `"${n}"`).join(", ") : "none");

function rolesLine(roles: readonly string[]): string {
  return `roles in the config repo: ${list([...roles].sort())}`;
}

/**
 * The role named in user data: a line `role=<name>` (shell style, optional quotes, `export`
 * allowed), or a top-level `role` in a JSON or YAML document. undefined when none.
 * Throws RunError when user data names two different roles.
 */
export function roleFromUserData(userData: string): string | undefined {
  const text = userData.replace(/^\uFEFF/, "");
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  if (trimmed.startsWith("{")) {
    try {
      const doc = JSON.parse(trimmed) as unknown;
      return roleField(doc, "JSON");
    } catch (err) {
      if (err instanceof RunError) throw err;
      // Not JSON after all: fall through to lines and YAML.
    }
  }
  const found = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?role\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s#;"']*))\s*(?:[#;].*)?$/.exec(line);
    if (m) {
      const value = (m[1] ?? m[2] ?? m[3] ?? "").trim();
      if (!value) throw new RunError(`user data has an empty role= line; write role=<name>`);
      found.add(value);
    }
  }
  if (found.size > 1)
    throw new PermanentRunError(`user data names several roles (${list([...found])}); keep one role= line`);
  if (found.size === 1) return [...found][0];
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return undefined;
  }
  return roleField(doc, "YAML");
}

function roleField(doc: unknown, format: string): string | undefined {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return undefined;
  if (!Object.hasOwn(doc, "role")) return undefined;
  const role = (doc as { role: unknown }).role;
  if (typeof role !== "string" || role.trim() === "") {
    throw new RunError(`user data (${format}) has a "role" that is not a non-empty string`);
  }
  return role.trim();
}

function mustExist(role: string, roles: readonly string[], from: string): string {
  if (roles.includes(role)) return role;
  throw new RunError(`${from} names role "${role}", which has no file in roles/; ${rolesLine(roles)}`);
}

/** Decide the role; see the module comment for the rules. */
export function discoverRole(input: DiscoverRoleInput): string {
  const source = typeof input.source === "string" ? parseRoleSource(input.source) : input.source;
  const { identity, roles } = input;
  const where = identity.instanceId ? `instance ${identity.instanceId}` : "this instance";
  switch (source.kind) {
    case "static":
      if (!roles.includes(source.name)) {
        throw new InputError(
          `role source static:${source.name}: no roles/${source.name} file; ${rolesLine(roles)}`,
        );
      }
      return source.name;

    case "security-groups": {
      const preference = input.preference ?? [];
      const unknown = preference.filter((p) => !roles.includes(p));
      if (unknown.length) {
        throw new InputError(
          `role preference names roles without a file: ${list(unknown)}; ${rolesLine(roles)}`,
        );
      }
      const groups = identity.securityGroups ?? [];
      const matching = [...new Set(groups.filter((g) => roles.includes(g)))];
      if (matching.length === 1) return matching[0]!;
      if (matching.length === 0) {
        throw new RunError(
          `none of the security groups of ${where} (${list(groups)}) has a role file; ${rolesLine(roles)}` +
            `; add roles/<group>.json or choose another role source`,
        );
      }
      const preferred = preference.find((p) => matching.includes(p));
      if (preferred !== undefined) return preferred;
      // the groups of a running instance do not change, nor does the repo within a boot: no retry
      throw new PermanentRunError(
        `several security groups of ${where} have role files (${list(matching)}); ` +
          `list the one to use first in the role preference order, or use a tag: role source`,
      );
    }

    case "tag":
    case "autoscaling-group": {
      const key = source.kind === "tag" ? source.key : AUTOSCALING_GROUP_TAG;
      const label = source.kind === "tag" ? `tag "${key}"` : `Auto Scaling group tag "${key}"`;
      if (identity.tags === undefined) {
        throw new RunError(
          `role source ${formatRoleSource(source)}: instance tags are not available in the metadata of ${where} (tags/instance answered 404); ` +
            `allow tags in instance metadata (InstanceMetadataTags=enabled in the launch template's metadata options) or choose another role source`,
        );
      }
      if (!Object.hasOwn(identity.tags, key)) {
        const have = Object.keys(identity.tags);
        throw new RunError(`${where} has no ${label} (tags: ${list(have)})`);
      }
      const value = identity.tags[key]!.trim();
      if (!value) throw new RunError(`${label} of ${where} is empty`);
      return mustExist(value, roles, label);
    }

    case "user-data": {
      if (identity.userData === undefined) {
        throw new RunError(`role source user-data: ${where} has no user data; add a line role=<name>`);
      }
      const role = roleFromUserData(identity.userData);
      if (role === undefined) {
        throw new RunError(
          `role source user-data: the user data of ${where} names no role; add a line role=<name>`,
        );
      }
      return mustExist(role, roles, "user data");
    }
  }
}
