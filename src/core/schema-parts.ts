/** zod pieces shared by several resource kinds. */
import { z } from "./zod.ts";

export const modeSchema = z.union([
  z.string().regex(/^0?[0-7]{3,4}$/, { message: 'expected an octal mode such as "0644"' }),
  z.number().int().min(0).max(0o7777),
]);

/** A user or group: a name as in the root's /etc/passwd, or a numeric id. */
export const ownerSchema = z.union([
  z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/i, { message: "expected a user or group name" }),
  z.number().int().min(0),
]);

export const absolutePath = z
  .string()
  .startsWith("/", { message: "must be an absolute path (start with /)" });
