/** zod pieces shared by several resource kinds. */
import { z } from "./zod.ts";

/**
 * A mode: an octal string ("0644", "1777") or a number (0o644). A number is what JavaScript made
 * of the literal: `mode: 644` is decimal 644, 0o1204 (sticky, owner write only), the classic
 * mistake. So numbers stop at 0o777, which every three-digit decimal from 512 up overshoots;
 * the special bits (setuid, setgid, sticky) are written as a string.
 */
export const modeSchema = z.union([
  z.string().regex(/^0?[0-7]{3,4}$/, { message: 'expected an octal mode such as "0644"' }),
  z
    .number()
    .int()
    .min(0)
    .refine((n) => n <= 0o777, {
      message:
        'a number here is read as decimal (644 is 0o1204): write the octal literal 0o644 or the string "0644"; setuid, setgid and sticky bits as a string such as "1777"',
    }),
]);

/** A user or group: a name as in the root's /etc/passwd, or a numeric id. */
export const ownerSchema = z.union([
  z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/i, { message: "expected a user or group name" }),
  z.number().int().min(0),
]);

export const absolutePath = z
  .string()
  .startsWith("/", { message: "must be an absolute path (start with /)" });
