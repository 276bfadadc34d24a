/** `muster health serve`: the HTTP health gate. */
import type { Command } from "commander";
import type { HealthFlags } from "../run-health.ts";

/**
 * Register `muster health serve`. `serve` replaces the action: the supervisor parses a builtin
 * health service's flags with this same definition (run-health.ts, healthFlagsFrom).
 */
export function registerHealth(program: Command, serve?: (flags: HealthFlags) => Promise<void>): void {
  const health = program.command("health").description("muster's HTTP health endpoint");
  health
    .command("serve")
    .description("answer 503 until the gate is open for this boot, then 200 with the gate record")
    .option("--port <n>", "port (default: the boot config's gate.http.port)")
    .option("--host <addr>", "address to listen on (default: gate.http.host, else 0.0.0.0)")
    .option("--path <path>", "path to answer on (default: gate.http.path, else /health)")
    .option("--root <dir>", "root every path is resolved under", "/")
    .option("--config <file>", "boot config file (default: ROOT/etc/muster/boot.json or boot.yaml)")
    .option("--app-check <url>", "the app's own check, also required on every request")
    .option("--boot-id <id>", "boot id (default: MUSTER_BOOT_ID, else the kernel's)")
    .addHelpText("after", "\nRuns until SIGTERM or SIGINT.")
    .action(
      serve ??
        (async (opts: HealthFlags) => {
          const { runHealthServe } = await import("../run-health.ts");
          process.exitCode = await runHealthServe(opts);
        }),
    );
  for (const c of health.commands) c.exitOverride();
  health.exitOverride();
}
