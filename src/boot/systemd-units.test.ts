import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveCommand } from "../host/command-path.ts";
import { exec } from "../host/exec.ts";
import { BIN, cleanupTmp, muster, tmpDir } from "../test-support/tmp.ts";
import { loadBootConfig, parseBootConfig } from "./boot-config.ts";
import { systemdUnits, unitSeconds, unitWord, wantedBy } from "./systemd-units.ts";

afterAll(cleanupTmp);

function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

const UNITS = [
  "muster-boot.service",
  "muster-health.service",
  "muster-watch.service",
  "muster-converge.service",
  "muster-converge.timer",
];
const settings = {
  node: process.execPath,
  muster: BIN,
  gateFile: "/var/www/html/ping.html",
  deadlineMs: 900_000,
  intervalMs: 600_000,
};

/**
 * systemd-analyze is not on a machine with only Node.js and git (the README's test command works
 * there): the unit checks with it run where it is, and always in CI, which installs it.
 */
const ANALYZE =
  resolveCommand("systemd-analyze", process.env.PATH) !== undefined || process.env.CI === "true";

/** `systemd-analyze verify` of unit files: its exit code and everything it printed. */
async function verify(files: string[]): Promise<{ code: number; output: string }> {
  const r = await exec(["systemd-analyze", "verify", ...files], { timeoutMs: 30_000 });
  return { code: r.code, output: (r.stdout + r.stderr).trim() };
}

describe("systemd units", () => {
  it("the boot runs once, after the network and cloud-init, before the web servers, gate removed first", () => {
    const boot = systemdUnits(settings)["muster-boot.service"]!;
    expect(boot).toMatch(/^Type=oneshot$/m);
    expect(boot).toMatch(/^RemainAfterExit=yes$/m);
    expect(boot).toMatch(/^Wants=network-online\.target$/m);
    expect(boot).toMatch(/^After=network-online\.target cloud-init\.service cloud-config\.service$/m);
    expect(boot).toMatch(/^Before=nginx\.service apache2\.service haproxy\.service$/m);
    expect(boot).toMatch(/^ExecStartPre=\/bin\/rm -f \/var\/www\/html\/ping\.html$/m);
    expect(boot).toContain(`ExecStart=${process.execPath} ${BIN} boot --root /`);
    expect(boot).toMatch(/^TimeoutStartSec=1020$/m);
    expect(boot).toMatch(/^WantedBy=multi-user\.target$/m);
  });

  it("the health endpoint restarts; the periodic converge runs from a timer", () => {
    const u = systemdUnits(settings);
    expect(u["muster-health.service"]).toContain(`${BIN} health serve --root /`);
    expect(u["muster-health.service"]).toMatch(/^Restart=always$/m);
    expect(u["muster-converge.service"]).toContain(`${BIN} boot --periodic --root /`);
    expect(u["muster-converge.service"]).toMatch(/^After=network-online\.target muster-boot\.service$/m);
    expect(u["muster-converge.timer"]).toMatch(/^OnUnitInactiveSec=600s$/m);
    expect(u["muster-converge.timer"]).toMatch(/^OnBootSec=600s$/m);
    expect(wantedBy(u)).toEqual({
      "muster-boot.service": "multi-user.target",
      "muster-health.service": "multi-user.target",
      "muster-watch.service": "multi-user.target",
      "muster-converge.timer": "timers.target",
    });
  });

  it("the departure watch runs after the boot, for as long as the server runs", () => {
    const w = systemdUnits(settings)["muster-watch.service"]!;
    expect(w).toContain(`ExecStart=${process.execPath} ${BIN} watch --root /`);
    expect(w).toMatch(/^Type=simple$/m);
    expect(w).toMatch(/^After=network-online\.target muster-boot\.service$/m);
    expect(w).toMatch(/^Restart=on-failure$/m);
  });

  it("quotes paths with spaces for ExecStart", () => {
    expect(unitWord("/usr/bin/node")).toBe("/usr/bin/node");
    expect(unitWord("/opt/my tools/muster.js")).toBe('"/opt/my tools/muster.js"');
    // a % would start a specifier (%h is the home directory): doubled, it is a %
    expect(unitWord("/srv/www/100%.html")).toBe("/srv/www/100%%.html");
    expect(unitWord("/srv/my www/%h")).toBe('"/srv/my www/%%h"');
    // systemd expands $X and ${X} even in quotes: a gate path with a $ would name another file
    // biome-ignore lint/suspicious/noTemplateCurlyInString: systemd's ${X}, not a template
    expect(unitWord("/srv/${X}/ping.html")).toBe('"/srv/$${X}/ping.html"');
    expect(unitWord("/srv/$HOME")).toBe('"/srv/$$HOME"');
  });

  it("muster install writes every unit, enables them, and each passes systemd-analyze verify", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "etc/muster"), { recursive: true });
    writeFileSync(
      path.join(root, "etc/muster/boot.json"),
      JSON.stringify({
        repo: { url: "/srv/config.git" },
        gate: { file: "/var/www/html/ping.html", http: { port: 8099 } },
      }),
    );
    const res = await muster(["install", "--root", root]);
    expect(res.code, res.stderr).toBe(0);
    const dir = path.join(root, "etc/systemd/system");
    for (const unit of UNITS) {
      expect(res.stdout).toContain(`wrote ${path.join(root, "etc/systemd/system", unit)}\n`);
      if (ANALYZE) expect(await verify([path.join(dir, unit)]), unit).toEqual({ code: 0, output: "" });
    }
    expect(readFileSync(path.join(dir, "muster-boot.service"), "utf8")).toContain(
      "ExecStartPre=/bin/rm -f /var/www/html/ping.html",
    );
    expect(readlinkSync(path.join(dir, "multi-user.target.wants/muster-boot.service"))).toBe(
      "/etc/systemd/system/muster-boot.service",
    );
    // links as `systemctl enable` makes them: absolute, meant for the machine whose root this is
    expect(readlinkSync(path.join(dir, "multi-user.target.wants/muster-health.service"))).toBe(
      "/etc/systemd/system/muster-health.service",
    );
    expect(readlinkSync(path.join(dir, "multi-user.target.wants/muster-watch.service"))).toBe(
      "/etc/systemd/system/muster-watch.service",
    );
    expect(readlinkSync(path.join(dir, "timers.target.wants/muster-converge.timer"))).toBe(
      "/etc/systemd/system/muster-converge.timer",
    );
  });

  it("muster install --config copies the boot config where the boot reads it, 0600", async () => {
    const root = tmpDir();
    const src = path.join(tmpDir(), "my-boot.json");
    const text = JSON.stringify({ repo: { url: "/srv/config.git" }, gate: { http: { port: 8099 } } });
    writeFileSync(src, text, { mode: 0o644 });
    const res = await muster(["install", "--root", root, "--config", src]);
    expect(res.code, res.stderr).toBe(0);
    const installed = path.join(root, "etc/muster/boot.json");
    expect(readFileSync(installed, "utf8")).toBe(text);
    expect(statSync(installed).mode & 0o777).toBe(0o600);
    expect(res.stdout).toContain(`wrote ${installed} (from ${src})\n`);
    // the gate.http of the given config enabled the health endpoint
    expect(lexists(path.join(root, "etc/systemd/system/multi-user.target.wants/muster-health.service"))).toBe(
      true,
    );
    // the boot finds it with no --config
    expect(loadBootConfig(root).repo.url).toBe("/srv/config.git");

    // a YAML file becomes boot.yaml
    const yamlRoot = tmpDir();
    const yamlSrc = path.join(tmpDir(), "boot.yml");
    writeFileSync(yamlSrc, "repo:\n  url: /srv/config.git\n");
    expect((await muster(["install", "--root", yamlRoot, "--config", yamlSrc])).code).toBe(0);
    expect(readFileSync(path.join(yamlRoot, "etc/muster/boot.yaml"), "utf8")).toBe(
      "repo:\n  url: /srv/config.git\n",
    );
    // ... and is refused while a boot.json, read first, is there: nothing written
    writeFileSync(path.join(yamlRoot, "etc/muster/boot.json"), text);
    writeFileSync(yamlSrc, "repo:\n  url: /srv/other.git\n");
    const shadowed = await muster(["install", "--root", yamlRoot, "--config", yamlSrc]);
    expect([shadowed.code, shadowed.stderr]).toEqual([
      2,
      `muster: install --config ${yamlSrc}: ${path.join(yamlRoot, "/etc/muster/boot.json")} exists and the boot reads it before /etc/muster/boot.yaml; remove it, or pass it as --config\n`,
    ]);
    expect(readFileSync(path.join(yamlRoot, "etc/muster/boot.yaml"), "utf8")).toContain("config.git");
  });

  it("muster install --config refuses a bad boot config and writes nothing", async () => {
    const root = tmpDir();
    const src = path.join(tmpDir(), "boot.json");
    writeFileSync(src, JSON.stringify({ repo: {} }));
    const res = await muster(["install", "--root", root, "--config", src]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^muster: .*repo\.url/);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(readdirSync(root)).toEqual([]);
  });

  it("muster install refuses a --node or --muster the units could not run, and writes nothing", async () => {
    const root = tmpDir();
    const res = await muster([
      "install",
      "--root",
      root,
      "--node",
      "/no/such/node",
      "--muster",
      "relative.js",
    ]);
    expect([res.code, res.stderr]).toEqual([
      2,
      `muster: install --node /no/such/node: no such file under ${root}; install it first\n` +
        "muster: install --muster relative.js: give an absolute path, as the unit runs it\n",
    ]);
    expect(existsSync(path.join(root, "etc/systemd"))).toBe(false);
  });

  it("muster install refuses what only a user data takes without --print-user-data (it was ignored), and writes nothing", async () => {
    const root = tmpDir();
    const res = await muster([
      "install",
      "--root",
      root,
      "--release-url",
      "https://h/m.tgz",
      "--platform",
      "al2023",
    ]);
    expect([res.code, res.stderr]).toEqual([
      2,
      "muster: install --platform: it shapes the user data only; add --print-user-data, or leave it out\n" +
        "muster: install --release-url: it shapes the user data only; add --print-user-data, or leave it out\n",
    ]);
    expect(existsSync(path.join(root, "etc/systemd"))).toBe(false);
  });

  it.runIf(ANALYZE)(
    "systemd-analyze verify does catch a broken unit (so the check above can fail)",
    async () => {
      const dir = tmpDir();
      const broken = systemdUnits({ ...settings, node: "/nonexistent/node" })["muster-boot.service"]!;
      writeFileSync(path.join(dir, "muster-boot.service"), broken);
      const v = await verify([path.join(dir, "muster-boot.service")]);
      expect(v.code).not.toBe(0);
      expect(v.output).toContain("/nonexistent/node");
    },
  );

  it("without gate.http in the boot config the health endpoint is written but not enabled", async () => {
    const root = tmpDir();
    const res = await muster(["install", "--root", root]);
    expect(res.code, res.stderr).toBe(0);
    expect(existsSync(path.join(root, "etc/systemd/system/muster-health.service"))).toBe(true);
    expect(lexists(path.join(root, "etc/systemd/system/multi-user.target.wants/muster-health.service"))).toBe(
      false,
    );
    expect(lexists(path.join(root, "etc/systemd/system/multi-user.target.wants/muster-boot.service"))).toBe(
      true,
    );
    expect(readFileSync(path.join(root, "etc/systemd/system/muster-boot.service"), "utf8")).toContain(
      "ExecStartPre=/bin/rm -f /var/lib/muster/gate.json",
    );
  });
});

describe("systemd unit numbers", () => {
  it("every number written is a whole number in plain digits, for the smallest, odd and largest durations", () => {
    for (const [deadline, interval] of [
      [0.001, 60],
      [1.2345, 61.7],
      [1799.9, 1800.4],
      [172_800, 604_800],
    ]) {
      const cfg = parseBootConfig(
        { repo: { url: "/x" }, retries: { deadline }, periodic: { interval } },
        "boot.json",
      );
      const units = systemdUnits({
        ...settings,
        deadlineMs: cfg.retries.deadlineMs,
        intervalMs: cfg.periodic.intervalMs,
      });
      for (const text of Object.values(units))
        for (const line of text.split("\n").filter((l) => /^\w+Sec=/.test(l)))
          expect(line, line).toMatch(/^\w+Sec=\d+s?$/);
    }
  });

  it("refuses to write an exponent, a fraction or NaN", () => {
    expect(() => systemdUnits({ ...settings, deadlineMs: 1e308 * 1000 })).toThrow(RangeError);
    expect(() => systemdUnits({ ...settings, intervalMs: Number.NaN })).toThrow(RangeError);
    expect(() => unitSeconds(1.5)).toThrow(RangeError);
    expect(unitSeconds(172_920)).toBe(172_920);
  });
});
