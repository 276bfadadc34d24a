/**
 * service: a long-running program, kept running (or stopped) and enabled (or not), optionally
 * with a unit muster writes. Two providers behind one interface: systemd on a host whose init is
 * systemd, and muster's own supervisor under a sandbox root (and wherever systemd is not init).
 * A notification's "refresh" reloads the service when it can, else restarts it.
 */
import { RunError } from "../core/errors.ts";
import { defineResource, type ResourceContext } from "../core/resource.ts";
import { pathExists } from "../host/host-files.ts";
import type {
  ProviderName,
  ServicePlan,
  ServiceProvider,
  ServiceState,
} from "../providers/service-provider.ts";
import { supervisorProvider } from "../providers/supervisor.ts";
import { systemdProvider } from "../providers/systemd.ts";
import { contentChange } from "./content-diff.ts";
import { type ServiceProps, serviceSchema as schema, serviceActions } from "./service-schema.ts";

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
  const name = chooseProvider(p.provider, ctx.fs.isHostRoot, pathExists("/run/systemd/system"), ctx.fs.root);
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
  // what both providers' refresh does for a service kept stopped: nothing
  refreshIdle: (p) => (p.running === false ? "nothing to refresh: running is false" : undefined),
  refreshedBy: (changes) => changes.some((c) => c.key === "start" || c.key === "restart"),
});
