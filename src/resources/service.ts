/**
 * service: a long-running program, kept running (or stopped) and enabled (or not), optionally
 * with a unit muster writes. Two providers behind one interface: systemd on a host whose init is
 * systemd, and muster's own supervisor under a sandbox root (and wherever systemd is not init).
 * A notification's "refresh" reloads the service when it can, else restarts it.
 */
import { existsSync } from "node:fs";
import { RunError } from "../core/errors.ts";
import { type Change, defineResource, type ResourceContext } from "../core/resource.ts";
import { absolutePath, ownerSchema } from "../core/schema-parts.ts";
import { z } from "../core/zod.ts";
import { supervisorProvider } from "../providers/supervisor.ts";
import { splitCommand } from "../providers/supervisor-policy.ts";
import { systemdProvider } from "../providers/systemd.ts";
import { contentChange } from "./content-diff.ts";

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
export type ProviderName = "systemd" | "supervisor";

const schema = z
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
export type ServiceProps = z.infer<typeof schema>;

/** What a provider reads; the same shape for both, so the plan below is provider-free. */
export interface ServiceState {
  provider: ProviderName;
  /** where the unit (systemd) or definition (supervisor) lives, inside the root */
  definitionPath: string;
  /** rendered from the unit prop; undefined when the recipe gives no unit */
  desiredDefinition?: string;
  /** what is there now; undefined when missing */
  definition?: string;
  active: boolean;
  enabled: boolean;
}

export interface ServicePlan {
  changes: Change[];
  writeDefinition: boolean;
  enable?: boolean;
  run?: "start" | "stop" | "restart" | "reload";
}

export interface ServiceProvider {
  read(ctx: ResourceContext, p: ServiceProps): Promise<ServiceState>;
  apply(ctx: ResourceContext, p: ServiceProps, plan: ServicePlan, cur: ServiceState): Promise<void>;
  /** reload when the service can, else restart; nothing when it is meant to be stopped */
  refresh(ctx: ResourceContext, p: ServiceProps): Promise<void>;
}

/** PURE: the changes that bring the service from `cur` to what the props and action say. */
export function planService(p: ServiceProps, cur: ServiceState): ServicePlan {
  const action = p.action ?? "converge";
  const plan: ServicePlan = { changes: [], writeDefinition: false };
  if (cur.desiredDefinition !== undefined && cur.desiredDefinition !== cur.definition) {
    plan.writeDefinition = true;
    plan.changes.push(
      contentChange(
        cur.definitionPath,
        cur.definition === undefined ? undefined : Buffer.from(cur.definition),
        Buffer.from(cur.desiredDefinition),
        false,
      ),
    );
  }
  const enabled = action === "enable" ? true : action === "disable" ? false : p.enabled;
  if (enabled !== undefined && enabled !== cur.enabled) {
    plan.enable = enabled;
    plan.changes.push({
      key: enabled ? "enable" : "disable",
      what: `${enabled ? "enable" : "disable"} ${p.name}`,
    });
  }
  const running = action === "start" ? true : action === "stop" ? false : p.running;
  const say = (run: NonNullable<ServicePlan["run"]>, why = "") => {
    plan.run = run;
    plan.changes.push({ key: run, what: `${run} ${p.name}${why}` });
  };
  if (action === "restart" && running !== false) say("restart");
  else if (action === "reload" && running !== false) say(cur.active ? "reload" : "start");
  else if (running === true && !cur.active) say("start");
  else if (running === false && cur.active) say("stop");
  else if (plan.writeDefinition && cur.active && running !== false) say("restart", " (its unit changed)");
  return plan;
}

/** systemd when it is the host's init and the root is the host's, else the supervisor. */
export function chooseProvider(
  requested: ProviderName | undefined,
  isHostRoot: boolean,
  systemdIsInit: boolean,
  root: string,
): ProviderName {
  if (requested === "systemd" && !isHostRoot)
    throw new RunError(
      `provider systemd manages the host's own services and cannot act under the sandbox root ${root}; leave provider unset to use muster's supervisor there`,
    );
  if (requested) return requested;
  return isHostRoot && systemdIsInit ? "systemd" : "supervisor";
}

const providers: Record<ProviderName, ServiceProvider> = {
  systemd: systemdProvider,
  supervisor: supervisorProvider,
};

function providerFor(ctx: ResourceContext, p: ServiceProps): ServiceProvider {
  // /run/systemd/system exists exactly when systemd is PID 1 (sd_booted(3))
  const name = chooseProvider(p.provider, ctx.fs.isHostRoot, existsSync("/run/systemd/system"), ctx.fs.root);
  return providers[name];
}

export const service = defineResource<ServiceProps, ServiceState>({
  kind: "service",
  nameProp: "name",
  pathName: false,
  schema,
  actions: serviceActions,
  defaultAction: "converge",
  defaultNotifyAction: "refresh",
  // restart and reload are asked for, not converged to: they run whenever the resource runs
  runsEveryTime: (p) => p.action === "restart" || p.action === "reload",
  id: (p) => `service[${p.name}]`,
  read: (ctx, p) => providerFor(ctx, p).read(ctx, p),
  diff: (p, cur) => planService(p, cur).changes,
  apply: (ctx, p, _changes, cur) => providers[cur.provider].apply(ctx, p, planService(p, cur), cur),
  refresh: (ctx, p) => providerFor(ctx, p).refresh(ctx, p),
  refreshedBy: (changes) => changes.some((c) => c.key === "start" || c.key === "restart"),
});
