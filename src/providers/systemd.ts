/**
 * The systemd service provider: unit files written atomically under the root's
 * /etc/systemd/system, `systemctl daemon-reload` only when one changed, state from
 * `systemctl is-active` / `is-enabled`. Every command goes through ctx.exec (tests record them).
 */
import { RunError } from "../core/errors.ts";
import type { ResourceContext } from "../core/resource.ts";
import { lastLine } from "../host/exec.ts";
import type { ServiceProps } from "../resources/service-schema.ts";
import type { ServiceProvider, ServiceState } from "./service-provider.ts";
import { parseIsActive, parseIsEnabled, renderUnit, UNIT_DIR, unitFileName } from "./systemd-unit.ts";

async function systemctl(ctx: ResourceContext, args: string[], check = true) {
  const res = await ctx.exec(["systemctl", ...args], {
    env: { ...ctx.env, SYSTEMD_PAGER: "", SYSTEMD_COLORS: "0" },
    timeoutMs: 5 * 60_000,
  });
  if (check && res.code !== 0)
    throw new RunError(
      `systemctl ${args.join(" ")} failed: ${lastLine(res.stderr) || lastLine(res.stdout) || `exit code ${res.code}`}`,
    );
  return res;
}

export const systemdProvider: ServiceProvider = {
  async read(ctx: ResourceContext, p: ServiceProps): Promise<ServiceState> {
    const unit = unitFileName(p.name);
    const definitionPath = `${UNIT_DIR}/${unit}`;
    // is-active and is-enabled answer with a non-zero exit for "no": only their words matter
    const active = parseIsActive((await systemctl(ctx, ["is-active", unit], false)).stdout);
    const enabled = parseIsEnabled((await systemctl(ctx, ["is-enabled", unit], false)).stdout);
    return {
      provider: "systemd",
      definitionPath,
      desiredDefinition: p.unit ? renderUnit(p.name, `service[${p.name}]`, p.unit) : undefined,
      definition: ctx.fs.readText(definitionPath),
      active,
      enabled,
    };
  },

  async apply(ctx, p, plan, cur) {
    const unit = unitFileName(p.name);
    if (plan.writeDefinition && cur.desiredDefinition !== undefined) {
      if (ctx.fs.stat(UNIT_DIR)?.type !== "directory") ctx.fs.mkdir(UNIT_DIR, 0o755, true);
      ctx.fs.writeFileAtomic(cur.definitionPath, cur.desiredDefinition, { mode: 0o644 });
      await systemctl(ctx, ["daemon-reload"]);
    }
    if (plan.enable !== undefined) await systemctl(ctx, [plan.enable ? "enable" : "disable", unit]);
    if (plan.run) await systemctl(ctx, [plan.run, unit]);
  },

  async refresh(ctx, p) {
    if (p.running === false) return;
    // reload when the unit says how (ExecReload=), else restart; starts it when stopped
    await systemctl(ctx, ["reload-or-restart", unitFileName(p.name)]);
  },
};
