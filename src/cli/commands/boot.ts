/** `muster boot`: the boot pipeline (and, with --periodic, the re-converge of a running server). */
import type { Command } from "commander";

export function registerBoot(program: Command): void {
  program
    .command("boot")
    .description("set this server up at boot: converge its role, then open its health gate")
    .option("--root <dir>", "root every path is resolved under", "/")
    .option("--config <file>", "boot config file (default: ROOT/etc/muster/boot.json or boot.yaml)")
    .option("--json", "print the run's record as JSON (progress goes to stderr)", false)
    .option("--boot-id <id>", "boot id for the gate (default: MUSTER_BOOT_ID, else the kernel's)")
    .option("--periodic", "re-converge a running server: no gate close first, no lifecycle action", false)
    .addHelpText(
      "after",
      "\nStages: close gate, lock, identify (IMDSv2), fetch config repo, verify signature, npm ci, pick role,\n" +
        "converge, checks, departure check (is the instance leaving? then the gate stays closed and the\n" +
        "launch action is abandoned), open gate, complete the lifecycle action (CONTINUE; ABANDON when the\n" +
        "retries give up).\n" +
        "\nExit codes: 0 gate open (or converged / warmed / told to leave before the gate opened), 1 the boot failed (gate closed), 2 bad boot config.\n" +
        "The run is logged as JSON lines in ROOT/var/log/muster/boot.log; `muster status` shows the last run.",
    )
    .action(async (opts) => {
      const { runBootCommand } = await import("../run-boot.ts");
      process.exitCode = await runBootCommand(opts);
    });
}
