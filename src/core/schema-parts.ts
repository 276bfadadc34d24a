/** zod pieces shared by several resource kinds. */
import { z } from "./zod.ts";

/**
 * A mode: an octal string ("0644", "1777") or a number (0o644, 0o2775). A number is what
 * JavaScript made of the literal, so `mode: 644` arrives as decimal 644, which is 0o1204 (sticky,
 * owner write only): the classic mistake. Refused: a number from 512 to 777 written with octal
 * digits only, which is what such a mistake gives (644, 755, 600, 700, 640, 664, 775); every octal
 * literal that means it (0o1000 to 0o1411, sticky with odd permissions) is vanishingly rare.
 * A decimal below 512 (400 for 0o620) cannot be told from an octal literal and goes through.
 */
export function decimalModeProblem(n: number): string | undefined {
  if (n >= 512 && n <= 777 && /^[0-7]{3}$/.test(String(n)))
    return `${n} is a decimal number here (0o${n.toString(8)}); write the octal literal 0o${n} or the string "0${n}"`;
  return undefined;
}

export const modeSchema = z.union([
  z.string().regex(/^0?[0-7]{3,4}$/, { message: 'expected an octal mode such as "0644"' }),
  z
    .number()
    .int()
    .min(0)
    .max(0o7777)
    .superRefine((n, ctx) => {
      const problem = decimalModeProblem(n);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
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
