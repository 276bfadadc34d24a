/**
 * The service resource's props: what a recipe may say about a service and its unit. A module of
 * its own so the service providers (src/providers) read the same types the resource checks,
 * without importing the resource that imports them.
 */
import { absolutePath, ownerSchema } from "../core/schema-parts.ts";
import { z } from "../core/zod.ts";
import { splitCommand } from "../providers/supervisor-policy.ts";

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9:_.@-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const oneLine = (what: string) => z.string().regex(/^[^\n\r]*$/, { message: `${what} must be one line` });

const unitSchema = z
  .strictObject({
    description: oneLine("description").optional(),
    /** an argv array, or a command line split like systemd's ExecStart (quotes group words) */
    execStart: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
      error: (iss) =>
        iss.input === undefined
          ? "required: the command the service runs (an argv array or a command line)"
          : "expected an argv array or a command line",
    }),
    /** inside the root */
    workingDirectory: absolutePath.optional(),
    environment: z
      .record(
        z.string().regex(ENV_NAME, { message: "expected an environment variable name" }),
        oneLine("an environment value"),
      )
      .optional(),
    /** inside the root: KEY=VALUE lines (systemd's EnvironmentFile=) */
    environmentFile: absolutePath.optional(),
    user: ownerSchema.optional(),
    group: ownerSchema.optional(),
    /** restart after the program exits: default on-failure */
    restart: z.enum(["no", "on-failure", "always"]).optional(),
    /** the signal a reload sends (nginx and many daemons reload on SIGHUP); without it refresh restarts */
    reloadSignal: z.enum(["SIGHUP", "SIGUSR1", "SIGUSR2"]).optional(),
  })
  .superRefine((u, issues) => {
    if (typeof u.execStart !== "string") return;
    try {
      if (splitCommand(u.execStart).length === 0) throw new Error("it has no words");
    } catch (err) {
      issues.addIssue({ code: "custom", path: ["execStart"], message: (err as Error).message });
    }
  });
export type ServiceUnit = z.infer<typeof unitSchema>;

export const serviceActions = [
  "converge",
  "start",
  "stop",
  "restart",
  "reload",
  "enable",
  "disable",
] as const;
export const serviceSchema = z
  .strictObject({
    name: z.string().regex(SERVICE_NAME, {
      message: "expected a service name (letters, digits and : _ . @ -, no slashes)",
    }),
    /** keep it running (true) or stopped (false); unset: leave it as it is */
    running: z.boolean().optional(),
    /** start it at boot (true) or not (false); unset: leave it as it is */
    enabled: z.boolean().optional(),
    /** the unit muster writes; without it the service must already be defined */
    unit: unitSchema.optional(),
    /** converge (the default) brings running/enabled/unit to what the props say */
    action: z.enum(serviceActions).optional(),
    provider: z
      .enum(["systemd", "supervisor"], {
        error: (iss) =>
          `unknown service provider ${JSON.stringify(iss.input)}: use "systemd" or "supervisor", or leave it unset to choose by the host`,
      })
      .optional(),
  })
  .superRefine((p, issues) => {
    const clash = (action: string, prop: "running" | "enabled", value: boolean) => {
      if (p.action === action && p[prop] === value)
        issues.addIssue({
          code: "custom",
          path: ["action"],
          message: `action ${action} contradicts ${prop}: ${value}`,
        });
    };
    clash("start", "running", false);
    clash("stop", "running", true);
    clash("enable", "enabled", false);
    clash("disable", "enabled", true);
  });
export type ServiceProps = z.infer<typeof serviceSchema>;
