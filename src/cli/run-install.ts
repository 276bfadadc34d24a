/** The install body: write (and enable) the systemd units, or print a cloud-init user data. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { BOOT_CONFIG_PATHS, findBootConfig, gateSettings } from "../boot/boot-config.ts";
import { systemdUnits, wantedBy } from "../boot/systemd-units.ts";
import { cloudInitUserData, USER_DATA_PLATFORMS, type UserDataPlatform } from "../boot/user-data.ts";
import { type UserDataFlags, userDataSources } from "../boot/user-data-flags.ts";
import { readTextFile } from "../core/data-file.ts";
import { InputError } from "../core/errors.ts";
import { RootFs } from "../host/root-fs.ts";
import { holdsCredentials } from "../resources/git-credentials.ts";
import { musterPackageRoot } from "./package-root.ts";

export interface InstallFlags extends UserDataFlags {
  root: string;
  config?: string;
  node?: string;
  muster?: string;
  enable: boolean;
  printUserData: boolean;
  platform?: string;
}

const UNIT_DIR = "/etc/systemd/system";

export async function runInstall(flags: InstallFlags): Promise<number> {
  const fs = new RootFs(flags.root);
  if (flags.printUserData) {
    const platform = flags.platform ?? "debian";
    if (!(USER_DATA_PLATFORMS as readonly string[]).includes(platform))
      throw new InputError(
        `install --platform ${platform}: unknown platform; use ${USER_DATA_PLATFORMS.join(" or ")}`,
      );
    const loc = findBootConfig(fs.root, flags.config);
    const sources = userDataSources(flags);
    const problems = "problems" in sources ? [...sources.problems] : [];
    if (!loc)
      problems.unshift(
        "install --print-user-data: the user data carries the boot config; pass --config FILE (or write ROOT/etc/muster/boot.json)",
      );
    const text = loc ? readTextFile(loc.hostPath, loc.shown) : undefined;
    // as the CDK construct refuses it: the user data is readable by every process on the server.
    // Said before the file's own checks: no mode of the file makes such a user data safe
    if (text !== undefined && holdsCredentials(text))
      problems.push(
        "install --print-user-data: the boot config holds a URL with credentials, which every process on the server could read from the user data (the metadata service); use an ssh URL with a deploy key, or write the boot config from a secrets store at launch",
      );
    if (!loc || text === undefined || "problems" in sources || problems.length > 0)
      throw new InputError(problems);
    const { config } = gateSettings(fs.root, flags.config);
    if (!config) throw new InputError(`${loc.shown}: the boot config went away while it was read; run again`);
    process.stdout.write(
      cloudInitUserData({
        bootConfig: text,
        bootConfigFormat: loc.hostPath.endsWith(".json") ? "json" : "yaml",
        ...sources,
        health: config.gate.http !== undefined,
        // as `install --enable` below: a host outside EC2 has no metadata to watch
        watch: config.endpoints.metadata !== "off",
        platform: platform as UserDataPlatform,
      }),
    );
    return 0;
  }
  const { gateFile, config } = gateSettings(fs.root, flags.config);
  // the units run these on the server: absolute paths that exist in its root
  const problems: string[] = [];
  // what only a user data takes would be silently ignored by the units: say so
  const userDataOnly: [string, unknown][] = [
    ["--platform", flags.platform],
    ["--release-url", flags.releaseUrl],
    ["--release-sha256", flags.releaseSha256],
    ["--package", flags.package],
    ["--integrity", flags.integrity],
    ["--node-version", flags.nodeVersion],
    ["--node-sha256-x64", flags.nodeSha256X64],
    ["--node-sha256-arm64", flags.nodeSha256Arm64],
  ];
  for (const [flag, v] of userDataOnly)
    if (v !== undefined)
      problems.push(`install ${flag}: it shapes the user data only; add --print-user-data, or leave it out`);
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
  // the boot reads ROOT/etc/muster/boot.*, not the file given here: it is copied there (after
  // the parse above found it valid), or the first boot would find no config
  const copy = flags.config ? bootConfigCopy(fs, flags.config) : undefined;
  if (copy?.problem) problems.push(copy.problem);
  if (problems.length > 0) throw new InputError(problems);
  // the path on the machine whose root this is, and where it is written here
  const shown = (p: string) => (fs.isHostRoot ? p : `${path.join(fs.root, p)}`);
  if (copy?.target) {
    if (!fs.stat(path.dirname(copy.target))) fs.mkdir(path.dirname(copy.target), 0o755, true);
    // it may hold repository credentials: readable by root only
    fs.writeFileAtomic(copy.target, readFileSync(flags.config!), { mode: 0o600 });
    process.stdout.write(`wrote ${shown(copy.target)} (from ${flags.config})\n`);
  }
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
    process.stdout.write(`wrote ${shown(`${UNIT_DIR}/${name}`)}\n`);
  }
  if (flags.enable) {
    const targets = wantedBy(units);
    // the health endpoint needs a port: enabled only when the boot config has gate.http
    if (!config?.gate.http) delete targets["muster-health.service"];
    // a host outside EC2 has no metadata to watch: the unit is written, not enabled
    if (config?.endpoints.metadata === "off") delete targets["muster-watch.service"];
    for (const [unit, target] of Object.entries(targets)) {
      const wants = `${UNIT_DIR}/${target}.wants`;
      if (!fs.stat(wants)) fs.mkdir(wants, 0o755, true);
      fs.symlink(`${wants}/${unit}`, `${UNIT_DIR}/${unit}`);
      process.stdout.write(`enabled ${unit} (${shown(`${wants}/${unit}`)})\n`);
    }
  }
  if (fs.isHostRoot) process.stdout.write("run `systemctl daemon-reload` to load the units\n");
  return 0;
}

/**
 * Where `muster install --config FILE` copies FILE in the root: the boot config path of its
 * format. A config of another format the boot would read first (boot.json before boot.yaml) is
 * a problem: the copy would never be read.
 */
export function bootConfigCopy(fs: RootFs, configFlag: string): { target?: string; problem?: string } {
  const target = configFlag.endsWith(".json") ? BOOT_CONFIG_PATHS[0]! : BOOT_CONFIG_PATHS[1]!;
  const before = BOOT_CONFIG_PATHS.slice(0, BOOT_CONFIG_PATHS.indexOf(target)).find((p) => fs.lstat(p));
  if (before)
    return {
      problem: `install --config ${configFlag}: ${path.join(fs.root, before)} exists and the boot reads it before ${target}; remove it, or pass it as --config`,
    };
  return { target };
}
