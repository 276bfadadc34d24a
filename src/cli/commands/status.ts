/** `muster status`: the last boot or re-converge run of a root. */
import type { Command } from "commander";

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description(
      "show the last run: outcome, role, revisions (against the pinned config ref), duration, failed stage",
    )
    .option("--root <dir>", "root every path is resolved under", "/")
    .option("--config <file>", "boot config file (default: ROOT/etc/muster/boot.json or boot.yaml)")
    .option("--json", "print the run's record as JSON", false)
    .option("--boot-id <id>", "boot id to judge the gate by (default: MUSTER_BOOT_ID, else the kernel's)")
    .addHelpText(
      "after",
      "\nExit codes: 0 the last run succeeded, 1 it failed, was interrupted, or none ran (or its record is damaged), 2 a bad boot config.",
    )
    .action(async (opts) => {
      const { runStatus } = await import("../run-status.ts");
      process.exitCode = await runStatus(opts);
    });
}
