/**
 * Role files: muster's own form, or Chef's role JSON as it is, so a team can move over without
 * rewriting its roles. Both normalise to `Role`.
 */
import { z } from "../core/zod.ts";

const attrs = z.record(z.string(), z.unknown());

/**
 * A run list per environment, keyed by its name: a name as `--environment` and the boot config's
 * `environment` take it, so that a key no environment could ever select is said at once.
 */
const envRunLists = z.record(
  z.string().regex(/^[\w.-]{1,255}$/, {
    message: 'expected an environment name of letters, digits, . _ - (such as "production")',
  }),
  z.array(z.string().min(1)),
);

export const musterRoleSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().min(1),
  description: z.string().max(4096).optional(),
  runList: z.array(z.string().min(1)),
  envRunLists: envRunLists.optional(),
  /** what `muster watch` converges when the server departs (same attributes as the run list) */
  shutdownRunList: z.array(z.string().min(1)).optional(),
  defaultAttributes: attrs.optional(),
  overrideAttributes: attrs.optional(),
});

export const chefRoleSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().max(4096).optional(),
  json_class: z.literal("Chef::Role").optional(),
  chef_type: z.literal("role").optional(),
  run_list: z.array(z.string().min(1)),
  env_run_lists: envRunLists.optional(),
  /** muster's addition beside Chef's run_list: converged when the server departs */
  shutdown_run_list: z.array(z.string().min(1)).optional(),
  default_attributes: attrs.optional(),
  override_attributes: attrs.optional(),
});

export type RunListItem = { type: "recipe" | "role"; name: string };

export interface Role {
  name: string;
  description?: string;
  runList: RunListItem[];
  envRunLists: Record<string, RunListItem[]>;
  /** converged by `muster watch` when the server departs; empty when the role has none */
  shutdownRunList: RunListItem[];
  defaultAttributes: Record<string, any>;
  overrideAttributes: Record<string, any>;
  /** relative to the config repo: "roles/web.json" */
  file: string;
  format: "muster" | "chef";
}

/** "recipe[nginx::site]" | "role[base]" | "nginx::site" (bare = recipe). Undefined if malformed. */
export function parseRunListItem(entry: string): RunListItem | undefined {
  const m = /^(recipe|role)\[([^\]]+)\]$/.exec(entry.trim());
  if (m) return { type: m[1] as "recipe" | "role", name: stripVersion(m[2]) };
  if (/^[A-Za-z0-9_.-]+(::[A-Za-z0-9_.-]+)?$/.test(entry.trim()))
    return { type: "recipe", name: entry.trim() };
  return undefined;
}

/** Chef allows "recipe[nginx@1.2.0]": muster has no cookbook versions, so the pin is ignored. */
function stripVersion(name: string): string {
  return name.replace(/@[^:]*$/, "");
}

/** The JSON Schema editors use for roles/*.json (muster's form or Chef's). */
export function roleJsonSchema(): unknown {
  return z.toJSONSchema(z.union([musterRoleSchema, chefRoleSchema]));
}
