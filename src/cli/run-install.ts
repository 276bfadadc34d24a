/** The install body: write (and enable) the systemd units, or print a cloud-init user data. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { findBootConfig, gateSettings } from "../boot/boot-config.ts";
import { systemdUnits, wantedBy } from "../boot/systemd-units.ts";
import { cloudInitUserData, USER_DATA_PLATFORMS, type UserDataPlatform } from "../boot/user-data.ts";
import { InputError } from "../core/errors.ts";
import { RootFs } from "../host/root-fs.ts";
import { VERSION } from "../version.ts";
import { musterPackageRoot } from "./package-root.ts";

export interface InstallFlags {
  root: string;
  config?: string;
  node?: string;
  muster?: string;
  enable: boolean;
  printUserData: boolean;
  package?: string;
  platform?: string;
}

const UNIT_DIR = "/etc/systemd/system";

export async function runInstall(flags: InstallFlags): Promise<number> {
  const fs = new RootFs(flags.root);
  const { gateFile, config } = gateSettings(fs.root, flags.config);
  if (flags.printUserData) {
    const platform = flags.platform ?? "debian";
    if (!(USER_DATA_PLATFORMS as readonly string[]).includes(platform))
      throw new InputError(
        `install --platform ${platform}: unknown platform; use ${USER_DATA_PLATFORMS.join(" or ")}`,
      );
    const loc = findBootConfig(fs.root, flags.config);
    if (!loc || !config)
      throw new InputError(
        "install --print-user-data: the user data carries the boot config; pass --config FILE (or write ROOT/etc/muster/boot.json)",
      );
    process.stdout.write(
      cloudInitUserData({
        bootConfig: readFileSync(loc.hostPath, "utf8"),
        bootConfigFormat: loc.hostPath.endsWith(".json") ? "json" : "yaml",
        packageSpec: flags.package ?? `muster@${VERSION}`,
        nodeVersion: process.versions.node,
        health: config.gate.http !== undefined,
        platform: platform as UserDataPlatform,
      }),
    );
    return 0;
  }
  // the units run these on the server: absolute paths that exist in its root
  const problems: string[] = [];
  for (const [flag, p] of [
    ["--node", flags.node],
    ["--muster", flags.muster],
  ] as const) {
    if (p === undefined) continue;
    if (!path.isAbsolute(p))
      problems.push(`install ${flag} ${p}: give an absolute path, as the unit runs it`);
    else if (!fs.lstat(p))
      problems.push(`install ${flag} ${p}: no such file under ${fs.root}; install it first`);
  }
  if (problems.length > 0) throw new InputError(problems);
  const units = systemdUnits({
    node: flags.node ?? process.execPath,
    muster: flags.muster ?? path.join(musterPackageRoot(), "bin/muster.js"),
    gateFile,
    deadlineMs: config?.retries.deadlineMs ?? 1_800_000,
    intervalMs: config?.periodic.intervalMs ?? 1_800_000,
  });
  if (!fs.stat(UNIT_DIR)) fs.mkdir(UNIT_DIR, 0o755, true);
  for (const [name, text] of Object.entries(units)) {
    fs.writeFileAtomic(`${UNIT_DIR}/${name}`, text, { mode: 0o644 });
    process.stdout.write(`wrote ${UNIT_DIR}/${name}\n`);
  }
  if (flags.enable) {
    const targets = wantedBy(units);
    // the health endpoint needs a port: enabled only when the boot config has gate.http
    if (!config?.gate.http) delete targets["muster-health.service"];
    for (const [unit, target] of Object.entries(targets)) {
      const wants = `${UNIT_DIR}/${target}.wants`;
      if (!fs.stat(wants)) fs.mkdir(wants, 0o755, true);
      fs.symlink(`${wants}/${unit}`, `${UNIT_DIR}/${unit}`);
      process.stdout.write(`enabled ${unit} (${wants}/${unit})\n`);
    }
  }
  if (fs.isHostRoot) process.stdout.write("run `systemctl daemon-reload` to load the units\n");
  return 0;
}
