/** The props every resource accepts (validated by the runner, not by each kind). */
import { z } from "./zod.ts";

const notification = z.union([
  z.string().regex(/^[a-z_]+\[.+\]$/, { message: 'expected a resource id such as "service[app]"' }),
  z.strictObject({
    resource: z
      .string()
      .regex(/^[a-z_]+\[.+\]$/, { message: 'expected a resource id such as "service[app]"' }),
    action: z.string().optional(),
    timing: z.enum(["delayed", "immediate"]).optional(),
  }),
]);

const guard = z.union([
  z.custom<() => boolean | Promise<boolean>>((v) => typeof v === "function", {
    message: "expected a function",
  }),
  z.string().min(1),
  z.array(z.string()).min(1),
]);

export const commonPropsSchema = z.strictObject({
  onlyIf: guard.optional(),
  notIf: guard.optional(),
  notifies: z.union([notification, z.array(notification)]).optional(),
  subscribes: z.union([notification, z.array(notification)]).optional(),
  retries: z.number().int().min(0).max(100).optional(),
  /** seconds between retries */
  retryDelay: z.number().min(0).optional(),
  sensitive: z.boolean().optional(),
  ignoreFailure: z.boolean().optional(),
});

export const COMMON_KEYS = new Set(Object.keys(commonPropsSchema.shape));
