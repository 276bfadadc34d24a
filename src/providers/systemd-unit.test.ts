/**
 * The unit files muster writes: rendered from the unit prop, and accepted without a warning by
 * `systemd-analyze verify` (which also proves the checker is real: a unit whose program does not
 * exist fails it).
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exec } from "../host/exec.ts";
import type { ServiceUnit } from "../resources/service-schema.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { parseIsActive, parseIsEnabled, quoteExecArg, renderUnit, unitFileName } from "./systemd-unit.ts";

afterAll(cleanupTmp);

describe("renderUnit", () => {
  it("writes every setting the unit prop gives", () => {
    const text = renderUnit("app", "service[app]", {
      description: "the app",
      execStart: ["/usr/bin/node", "server.js"],
      workingDirectory: "/srv/app/live",
      environment: { PORT: "8080", HOST: "127.0.0.1" },
      environmentFile: "/etc/app/app.env",
      user: "app",
      restart: "always",
      reloadSignal: "SIGHUP",
    });
    expect(text).toBe(
      [
        "# Written by muster from service[app]: edits here are overwritten.",
        "[Unit]",
        "Description=the app",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=/usr/bin/node server.js",
        "WorkingDirectory=/srv/app/live",
        'Environment="HOST=127.0.0.1"',
        'Environment="PORT=8080"',
        "EnvironmentFile=/etc/app/app.env",
        "User=app",
        "Restart=always",
        "RestartSec=1",
        "ExecReload=/bin/kill -s HUP $MAINPID",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
      ].join("\n"),
    );
  });

  it("splits a command line like systemd and defaults Restart to on-failure", () => {
    const text = renderUnit("w", "service[w]", { execStart: `/bin/sh -c "echo 'hi there'"` });
    expect(text).toContain(`ExecStart=/bin/sh -c "echo 'hi there'"`);
    expect(text).toContain("Description=w (managed by muster)");
    expect(text).toContain("Restart=on-failure");
  });

  it("escapes specifiers, variables, quotes and lone semicolons", () => {
    expect(quoteExecArg("plain-arg_1.0/x")).toBe("plain-arg_1.0/x");
    expect(quoteExecArg("100%")).toBe("100%%");
    expect(quoteExecArg("$HOME")).toBe("$$HOME");
    expect(quoteExecArg("a b")).toBe('"a b"');
    expect(quoteExecArg('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(quoteExecArg(";")).toBe("\\;");
    const env = renderUnit("e", "service[e]", {
      execStart: ["/bin/true"],
      environment: { GREETING: 'hello "world" 100%' },
    });
    expect(env).toContain('Environment="GREETING=hello \\"world\\" 100%%"');
  });

  it("names units with .service once", () => {
    expect(unitFileName("app")).toBe("app.service");
    expect(unitFileName("app.service")).toBe("app.service");
  });
});

describe("systemctl's answers (recorded from systemd 252)", () => {
  it("is-active", () => {
    expect(parseIsActive("active\n")).toBe(true);
    expect(parseIsActive("reloading\n")).toBe(true);
    expect(parseIsActive("inactive\n")).toBe(false);
    expect(parseIsActive("failed\n")).toBe(false);
    expect(parseIsActive("")).toBe(false);
  });
  it("is-enabled", () => {
    expect(parseIsEnabled("enabled\n")).toBe(true);
    expect(parseIsEnabled("static\n")).toBe(true);
    expect(parseIsEnabled("disabled\n")).toBe(false);
    expect(parseIsEnabled("masked\n")).toBe(false);
    // unit file not found: nothing on stdout, "Failed to get unit file state ..." on stderr
    expect(parseIsEnabled("")).toBe(false);
  });
});

describe("systemd-analyze verify", () => {
  async function verify(unit: ServiceUnit, name = "app") {
    const dir = tmpDir("muster-unit-");
    const file = path.join(dir, `${name}.service`);
    writeFileSync(file, renderUnit(name, `service[${name}]`, unit));
    return exec(["systemd-analyze", "verify", file], { timeoutMs: 60_000 });
  }

  it("accepts a unit with every setting, without a warning", async () => {
    const res = await verify({
      description: "every setting: 100% covered",
      execStart: ["/bin/sh", "-c", 'echo "$HOME is 100% home" ; exec sleep 1000', ";"],
      workingDirectory: "/",
      environment: { A: "1", SPACED: "a b", QUOTED: 'say "hi"' },
      environmentFile: "/etc/app/app.env",
      user: "root",
      group: "root",
      restart: "always",
      reloadSignal: "SIGHUP",
    });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
  });

  it("accepts the example app's unit (node from this machine)", async () => {
    const res = await verify({
      description: "the example app (examples/app)",
      execStart: [process.execPath, "server.js"],
      workingDirectory: "/srv/app/live",
      environmentFile: "/etc/app/app.env",
      restart: "on-failure",
    });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
  });

  it("rejects a unit whose program does not exist", async () => {
    const res = await verify({ execStart: ["/nonexistent/muster-test-binary"] });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("/nonexistent/muster-test-binary");
  });
});
