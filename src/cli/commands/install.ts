/** `muster install`: systemd units for the boot, the health endpoint and the periodic re-converge. */
import type { Command } from "commander";

export function registerInstall(program: Command): void {
  program
    .command("install")
    .description("write and enable muster's systemd units (or print a cloud-init user data)")
    .addHelpText(
      "after",
      "\nWrites muster-boot.service, muster-health.service, muster-converge.service and muster-converge.timer\n" +
        "under ROOT/etc/systemd/system and enables them as `systemctl enable` would. With --config FILE, the\n" +
        "file is checked and copied to ROOT/etc/muster/boot.json (or boot.yaml), mode 0600, where the boot reads it.",
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
      "the image the user data is for: debian (Debian, Ubuntu: Node.js from nodejs.org) or al2023 (Amazon Linux 2023: dnf install nodejs20)",
    )
    .option("--package <spec>", "npm spec the user data installs muster from (default: muster@VERSION)")
    .action(async (opts) => {
      const { runInstall } = await import("../run-install.ts");
      process.exitCode = await runInstall(opts);
    });
}
