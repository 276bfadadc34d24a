/**
 * The systemd provider against recorded systemctl answers. PID 1 on the machines these tests run
 * on is not systemd, so ctx.exec is a fake systemctl that answers exactly as systemd 252 does
 * (outputs and exit codes recorded below) and keeps the state those answers imply. The unit file
 * is really written, under a temporary root.
 */
import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Exec, ExecResult } from "../host/exec.ts";
import { chooseProvider, planService, service } from "../resources/service.ts";
import type { ServiceProps } from "../resources/service-schema.ts";
import { testContext } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { systemdProvider } from "./systemd.ts";

afterAll(cleanupTmp);

const r = (stdout: string, code = 0, stderr = ""): ExecResult => ({ code, stdout, stderr, durationMs: 1 });

/** systemctl as systemd 252 answers, for one unit. */
function fakeSystemctl(
  initial: { known?: boolean; active?: boolean; enabled?: boolean; canReload?: boolean } = {},
) {
  const st = { known: false, active: false, enabled: false, ...initial };
  const calls: string[] = [];
  const exec: Exec = async (argv) => {
    if (argv[0] !== "systemctl") throw new Error(`unexpected ${argv.join(" ")}`);
    const [verb, unit] = argv.slice(1);
    calls.push(argv.slice(1).join(" "));
    switch (verb) {
      case "is-active":
        return st.active ? r("active\n") : r("inactive\n", 3);
      case "is-enabled":
        if (!st.known)
          return r("", 1, `Failed to get unit file state for ${unit}: No such file or directory\n`);
        return st.enabled ? r("enabled\n") : r("disabled\n", 1);
      case "daemon-reload":
        st.known = true;
        return r("");
      case "enable":
        st.enabled = true;
        return r(
          "",
          0,
          `Created symlink /etc/systemd/system/multi-user.target.wants/${unit} → /etc/systemd/system/${unit}.\n`,
        );
      case "disable":
        st.enabled = false;
        return r("", 0, `Removed "/etc/systemd/system/multi-user.target.wants/${unit}".\n`);
      case "start":
      case "restart":
      case "reload-or-restart":
        if (!st.known) return r("", 5, `Failed to ${verb} ${unit}: Unit ${unit} not found.\n`);
        st.active = true;
        return r("");
      case "stop":
        st.active = false;
        return r("");
      default:
        throw new Error(`unexpected systemctl ${verb}`);
    }
  };
  return { exec, calls, st };
}

const APP: ServiceProps = service.schema.parse({
  name: "app",
  running: true,
  enabled: true,
  unit: {
    description: "the app",
    execStart: ["/usr/bin/node", "server.js"],
    workingDirectory: "/srv/app/live",
    environmentFile: "/etc/app/app.env",
  },
});

/** read, plan, apply: what the runner does, with the provider the resource would pick on a host. */
async function converge(root: string, exec: Exec, props: ServiceProps) {
  const ctx = testContext(root, root, { exec });
  const cur = await systemdProvider.read(ctx, props);
  const plan = planService(props, cur);
  if (plan.changes.length > 0) await systemdProvider.apply(ctx, props, plan, cur);
  return plan.changes.map((c) => c.what);
}

describe("the systemd provider", () => {
  it("first converge: writes the unit, daemon-reload, enable, start", async () => {
    const root = tmpDir();
    const sc = fakeSystemctl();
    const changes = await converge(root, sc.exec, APP);
    expect(changes).toEqual(["create file /etc/systemd/system/app.service", "enable app", "start app"]);
    expect(sc.calls).toEqual([
      "is-active app.service",
      "is-enabled app.service",
      "daemon-reload",
      "enable app.service",
      "start app.service",
    ]);
    const unitFile = path.join(root, "etc/systemd/system/app.service");
    expect(readFileSync(unitFile, "utf8")).toContain("ExecStart=/usr/bin/node server.js\n");
    expect(statSync(unitFile).mode & 0o777).toBe(0o644);
  });

  it("a second converge only reads: no daemon-reload when no unit file changed", async () => {
    const root = tmpDir();
    const sc = fakeSystemctl();
    await converge(root, sc.exec, APP);
    sc.calls.length = 0;
    expect(await converge(root, sc.exec, APP)).toEqual([]);
    expect(sc.calls).toEqual(["is-active app.service", "is-enabled app.service"]);
  });

  it("a changed unit: daemon-reload, then restart the running service", async () => {
    const root = tmpDir();
    const sc = fakeSystemctl();
    await converge(root, sc.exec, APP);
    sc.calls.length = 0;
    const changed = service.schema.parse({
      ...APP,
      unit: { ...APP.unit, environment: { NODE_ENV: "production" } },
    });
    const changes = await converge(root, sc.exec, changed);
    expect(changes).toEqual([
      "update content of /etc/systemd/system/app.service",
      "restart app (its unit changed)",
    ]);
    expect(sc.calls).toEqual([
      "is-active app.service",
      "is-enabled app.service",
      "daemon-reload",
      "restart app.service",
    ]);
  });

  it("running: false stops it, enabled: false disables it, without touching the unit", async () => {
    const root = tmpDir();
    const sc = fakeSystemctl();
    await converge(root, sc.exec, APP);
    sc.calls.length = 0;
    const off = service.schema.parse({ ...APP, running: false, enabled: false });
    expect(await converge(root, sc.exec, off)).toEqual(["disable app", "stop app"]);
    expect(sc.calls).toEqual([
      "is-active app.service",
      "is-enabled app.service",
      "disable app.service",
      "stop app.service",
    ]);
  });

  it("a service without a unit prop is left as defined; only its state is converged", async () => {
    const sc = fakeSystemctl({ known: true, enabled: true, active: false });
    const nginx = service.schema.parse({ name: "nginx", running: true });
    expect(await converge(tmpDir(), sc.exec, nginx)).toEqual(["start nginx"]);
    expect(sc.calls).toEqual(["is-active nginx.service", "is-enabled nginx.service", "start nginx.service"]);
  });

  it("refresh is reload-or-restart (systemd reloads when the unit says how); nothing when meant stopped", async () => {
    const sc = fakeSystemctl({ known: true, active: true, enabled: true });
    const ctx = testContext(tmpDir(), undefined, { exec: sc.exec });
    await systemdProvider.refresh(ctx, APP);
    expect(sc.calls).toEqual(["reload-or-restart app.service"]);
    sc.calls.length = 0;
    await systemdProvider.refresh(ctx, { ...APP, running: false });
    expect(sc.calls).toEqual([]);
  });

  it("a systemctl failure is a one-line error with systemctl's own words", async () => {
    const sc = fakeSystemctl();
    const ghost = service.schema.parse({ name: "ghost", running: true });
    await expect(converge(tmpDir(), sc.exec, ghost)).rejects.toThrow(
      "systemctl start ghost.service failed: Failed to start ghost.service: Unit ghost.service not found.",
    );
  });
});

describe("choosing the provider", () => {
  it("systemd on the host's root when it is init, the supervisor everywhere else", () => {
    expect(chooseProvider(undefined, true, true, "/")).toBe("systemd");
    expect(chooseProvider(undefined, true, false, "/")).toBe("supervisor");
    expect(chooseProvider(undefined, false, true, "/tmp/r")).toBe("supervisor");
    expect(chooseProvider("supervisor", true, true, "/")).toBe("supervisor");
  });
  it("systemd under a sandbox root is refused: it would act on the host's services", () => {
    expect(() => chooseProvider("systemd", false, true, "/tmp/r")).toThrow(
      "provider systemd manages the host's own services and cannot act under the sandbox root /tmp/r; leave provider unset to use muster's supervisor there",
    );
  });
});
