/** `muster gate status|close`: the health gate of a root. */
import type { Command } from "commander";

export function registerGate(program: Command): void {
  const gate = program.command("gate").description("the health gate: status, close");
  gate
    .command("status")
    .description("is the gate open for this boot? (a gate from another boot is stale = closed)")
    .option("--root <dir>", "root every path is resolved under", "/")
    .option("--config <file>", "boot config file (default: ROOT/etc/muster/boot.json or boot.yaml)")
    .option("--json", "print the verdict as JSON", false)
    .option("--boot-id <id>", "boot id (default: MUSTER_BOOT_ID, else the kernel's)")
    .addHelpText("after", "\nExit codes: 0 open, 3 closed or stale, 2 bad input.")
    .action(async (opts) => {
      const { runGateStatus } = await import("../run-gate.ts");
      process.exitCode = await runGateStatus(opts);
    });
  gate
    .command("close")
    .description("close the gate now (take this server out of the load balancer)")
    .option("--root <dir>", "root every path is resolved under", "/")
    .option("--config <file>", "boot config file (default: ROOT/etc/muster/boot.json or boot.yaml)")
    .action(async (opts) => {
      const { runGateClose } = await import("../run-gate.ts");
      process.exitCode = await runGateClose(opts);
    });
  for (const c of gate.commands) c.exitOverride();
  gate.exitOverride();
}
