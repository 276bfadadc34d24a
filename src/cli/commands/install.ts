/** `muster install`: systemd units for the boot, the health endpoint and the periodic re-converge. */
import type { Command } from "commander";

/** a repeatable option's values, in order */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerInstall(program: Command): void {
  program
    .command("install")
    .description("write and enable muster's systemd units (or print a cloud-init user data)")
    .addHelpText(
      "after",
      "\nWrites muster-boot.service, muster-health.service, muster-converge.service, muster-converge.timer and\n" +
        "muster-watch.service under ROOT/etc/systemd/system and enables them as `systemctl enable` would (the\n" +
        "health service only with gate.http, the watch only with a metadata endpoint). With --config FILE, the\n" +
        "file is checked and copied to ROOT/etc/muster/boot.json (or boot.yaml), mode 0600, where the boot reads it.\n\n" +
        "--print-user-data prints a #cloud-config for a plain image instead. It installs Node.js (the image's or\n" +
        "the distribution's when 20 or later, else the official tarball checked against its SHA-256) and muster\n" +
        "from the archives `npm run release` makes, each checked against its SHA-256 before it is installed:\n" +
        "  muster install --print-user-data --config boot.json \\\n" +
        "    --release-url https://HOST/muster-fleet-VERSION-linux-x64.tgz --release-sha256 HEX",
    )
    .option("--root <dir>", "root every path is resolved under", "/")
    .option(
      "--config <file>",
      "boot config file to install as ROOT/etc/muster/boot.json or boot.yaml (default: the one there)",
    )
    .option("--node <path>", "node binary the units run (default: this one)")
    .option("--muster <path>", "muster's bin/muster.js the units run (default: this one)")
    .option("--no-enable", "write the units without enabling them")
    .option("--print-user-data", "print a #cloud-config user data that installs and starts muster", false)
    .option(
      "--platform <name>",
      "user data: the image it is for: debian (Debian, Ubuntu: Node.js from the distribution or a checked nodejs.org tarball) or al2023 (Amazon Linux 2023: dnf install nodejs20)",
    )
    .option(
      "--release-url <url>",
      "user data: muster's release archive for a CPU (muster-fleet-VERSION-linux-x64.tgz or -linux-arm64.tgz); repeat for both",
      collect,
    )
    .option(
      "--release-sha256 <hex>",
      "user data: the SHA-256 of the --release-url before it (its .sha256 file)",
      collect,
    )
    .option(
      "--package <spec>",
      "user data: muster from the registry instead, an exact version (muster-fleet@X.Y.Z)",
    )
    .option(
      "--integrity <sha512>",
      "user data: that package's integrity (sha512-..., `npm view SPEC dist.integrity`)",
    )
    .option(
      "--node-version <version>",
      "user data: the Node.js tarball's version where the image has no Node.js 20 (default: the one muster pins, with its SHA-256 values)",
    )
    .option(
      "--node-sha256-x64 <hex>",
      "user data: SHA-256 of node-vVERSION-linux-x64.tar.xz (SHASUMS256.txt)",
    )
    .option(
      "--node-sha256-arm64 <hex>",
      "user data: SHA-256 of node-vVERSION-linux-arm64.tar.xz (SHASUMS256.txt)",
    )
    .action(async (opts) => {
      const { runInstall } = await import("../run-install.ts");
      process.exitCode = await runInstall(opts);
    });
}
