/** zod pieces shared by several resource kinds. */
import { z } from "./zod.ts";

/**
 * Upper bounds of config values. A value past them is a mistake (or an attack on the process that
 * reads the config) and must be refused at parse time, with the field named and exit 2, not fail
 * later (a 10 MB URL as `spawn E2BIG`) or be written somewhere as nonsense (`TimeoutStartSec=1e+308`).
 */
export const LIMITS = {
  /** a URL: the length browsers, proxies and most servers accept */
  url: 2048,
  /** a path: Linux's PATH_MAX */
  path: 4096,
  /** a name (a file name component, a hook, a group, a host, a role): NAME_MAX, AWS's name fields */
  name: 255,
  /** a git branch, tag or commit id (a commit id is 40 or 64 characters) */
  ref: 255,
  /** an AWS tag key and value (Amazon EC2 "Tag your resources": 128 and 256 Unicode characters) */
  tagKey: 128,
  tagValue: 256,
  /** an environment variable's value */
  envValue: 32_768,
  /** a list or map in a config file */
  items: 256,
  /**
   * A duration, seconds: 48 hours, the longest an Auto Scaling lifecycle hook can keep an
   * instance waiting (its global timeout, see `LIFECYCLE_HOOK`), so the longest a boot can
   * usefully take.
   */
  seconds: 172_800,
} as const;

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
  z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/i, {
    message: 'expected a user or group name, or an id as a number (1234, not "1234")',
  }),
  // a uid or gid is 32 bits, and (uid_t)-1 means "no change" to chown: not an id
  z.number().int().min(0).max(0xfffffffe),
]);

export const absolutePath = z
  .string()
  .max(LIMITS.path)
  .startsWith("/", { message: "must be an absolute path (start with /)" })
  // a NUL ends the path for the kernel: what was checked is not what would be written (a regex
  // check, not a refine: a refine here slowed the parse of every resource, a 573-resource
  // converge by about 40 ms)
  .regex(/^[^\0]*$/, { message: "must not contain a NUL character" });

/**
 * The Auto Scaling lifecycle hook's limits, seconds: a heartbeat timeout of 30 to 7200, and a
 * global timeout of 48 hours or 100 times the heartbeat timeout, whichever is smaller.
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
 */
export const LIFECYCLE_HOOK = {
  heartbeatTimeoutMin: 30,
  heartbeatTimeoutMax: 7200,
  globalTimeoutMax: 172_800,
  globalTimeoutHeartbeats: 100,
} as const;

/** The longest a lifecycle action can wait with this heartbeat timeout (seconds). */
export function lifecycleGlobalTimeout(heartbeatTimeout: number): number {
  return Math.min(LIFECYCLE_HOOK.globalTimeoutMax, LIFECYCLE_HOOK.globalTimeoutHeartbeats * heartbeatTimeout);
}

/** A string of at least `min` (default 1: not empty) and at most `max` characters. */
export function boundedString(max: number, opts: { min?: number } = {}) {
  return z
    .string()
    .min(opts.min ?? 1)
    .max(max);
}

/** A map (key: value) of at most `max` entries, LIMITS.items by default. */
export function boundedRecord<K extends z.core.$ZodRecordKey, V extends z.ZodType>(
  key: K,
  value: V,
  max: number = LIMITS.items,
) {
  return z.record(key, value).refine((o) => Object.keys(o).length <= max, {
    message: `must have at most ${max} entries`,
  });
}

/**
 * A duration as config files spell it: seconds, fractions allowed, more than 0 (0 too with
 * `orZero`), at most `max` (LIMITS.seconds, 48 hours, unless given). Each config's parse turns it
 * into milliseconds once (`secondsToMs`), so the code that uses it never converts.
 */
export function seconds(opts: { orZero?: boolean; min?: number; max?: number } = {}) {
  // at least 1 ms: a positive duration must not round to 0 ms once in milliseconds (a heartbeat
  // timeout or a sample period of 0 would end every lifecycle action at once, or spin a timer)
  const min = opts.min ?? (opts.orZero ? 0 : 0.001);
  return z
    .number()
    .min(min)
    .max(opts.max ?? LIMITS.seconds);
}

/** A duration in seconds from a config file as whole milliseconds. */
export function secondsToMs(s: number): number {
  return Math.round(s * 1000);
}

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
/** localhost or 127.x.y.z (each number 0 to 255): the loopback hosts muster names or listens on. */
export const LOOPBACK_HOST = new RegExp(`^(localhost|127(\\.${OCTET}){3})$`);
