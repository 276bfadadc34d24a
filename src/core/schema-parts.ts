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

/**
 * A duration as config files spell it: seconds, fractions allowed, more than 0 (0 too with
 * `orZero`). Each config's parse turns it into milliseconds once (`secondsToMs`), so the code
 * that uses it never converts.
 */
export function seconds(opts: { orZero?: boolean } = {}) {
  // at least 1 ms: a positive duration must not round to 0 ms once in milliseconds (a heartbeat
  // timeout or a sample period of 0 would end every lifecycle action at once, or spin a timer)
  return opts.orZero ? z.number().nonnegative() : z.number().min(0.001);
}

/** A duration in seconds from a config file as whole milliseconds. */
export function secondsToMs(s: number): number {
  return Math.round(s * 1000);
}

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
/** localhost or 127.x.y.z (each number 0 to 255): the loopback hosts muster names or listens on. */
export const LOOPBACK_HOST = new RegExp(`^(localhost|127(\\.${OCTET}){3})$`);
