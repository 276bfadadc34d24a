/**
 * The supervisor service provider: the service's definition is a JSON file under the root
 * (ROOT/etc/muster/services/<name>.json, the supervisor's unit file), "enabled" is a marker beside
 * it, and running/stopped is what the root's supervisor says. Used under a sandbox root, by every
 * local-fleet instance, and on hosts whose init is not systemd.
 */
import { RunError } from "../core/errors.ts";
import type { ResourceContext } from "../core/resource.ts";
import type { ServiceUnit } from "../resources/service-schema.ts";
import type { ServiceProvider, ServiceState } from "./service-provider.ts";
import { ensureSupervisor, supervisorRequest, supervisorStatus } from "./supervisor-client.ts";
import {
  definitionPath,
  definitionText,
  enabledMarker,
  type ServiceDefinition,
  SUPERVISOR_PATHS,
  splitCommand,
} from "./supervisor-policy.ts";

/** The supervisor's name for a service: "app.service" and "app" are the same service. */
export function supervisedName(name: string): string {
  return name.replace(/\.service$/, "");
}

export function unitToDefinition(u: ServiceUnit): ServiceDefinition {
  return {
    description: u.description,
    command: typeof u.execStart === "string" ? splitCommand(u.execStart) : u.execStart,
    workingDirectory: u.workingDirectory,
    environment: u.environment,
    environmentFile: u.environmentFile,
    user: u.user,
    group: u.group,
    restart: u.restart ?? "on-failure",
    reloadSignal: u.reloadSignal,
  };
}

const RUNNING = new Set(["starting", "running", "backoff"]);

function ensureDir(ctx: ResourceContext, dir: string): void {
  if (ctx.fs.stat(dir)?.type !== "directory") ctx.fs.mkdir(dir, 0o755, true);
}

export const supervisorProvider: ServiceProvider = {
  async read(ctx, p): Promise<ServiceState> {
    const name = supervisedName(p.name);
    const services = await supervisorStatus(ctx.fs.root);
    return {
      provider: "supervisor",
      definitionPath: definitionPath(name),
      desiredDefinition: p.unit ? definitionText(unitToDefinition(p.unit)) : undefined,
      definition: ctx.fs.readText(definitionPath(name)),
      active: RUNNING.has(services?.[name]?.state ?? "stopped"),
      enabled: ctx.fs.lstat(enabledMarker(name)) !== undefined,
    };
  },

  async apply(ctx, p, plan, cur) {
    const name = supervisedName(p.name);
    if (plan.writeDefinition && cur.desiredDefinition !== undefined) {
      ensureDir(ctx, SUPERVISOR_PATHS.definitions);
      ctx.fs.writeFileAtomic(cur.definitionPath, cur.desiredDefinition, { mode: 0o644 });
    }
    if (plan.enable === true) {
      ensureDir(ctx, SUPERVISOR_PATHS.enabled);
      ctx.fs.writeFileAtomic(enabledMarker(name), "");
    } else if (plan.enable === false) ctx.fs.remove(enabledMarker(name));
    if (!plan.run) return;
    if (plan.run === "stop") {
      // nothing runs without a supervisor: only ask one that is there
      if ((await supervisorStatus(ctx.fs.root)) !== undefined) await call(ctx, "stop", name);
      return;
    }
    await call(ctx, plan.run, name);
  },

  async refresh(ctx, p) {
    if (p.running === false) return;
    // the supervisor reloads with the unit's reloadSignal when it has one, else restarts
    await call(ctx, "reload", supervisedName(p.name));
  },
};

async function call(ctx: ResourceContext, op: "start" | "stop" | "restart" | "reload", name: string) {
  if (op !== "stop") await ensureSupervisor(ctx.fs.root, (m) => ctx.log.progress(m));
  const res = await supervisorRequest(ctx.fs.root, { op, name });
  const st = res.services[name];
  if (op !== "stop" && st?.state !== "running")
    throw new RunError(
      `service ${name} is ${st?.state ?? "unknown"} after ${op}${st?.error ? `: ${st.error}` : ""}`,
    );
}
