/**
 * The flags of `muster health serve` and their definition: one module that both the command's
 * registration (commands/health.ts) and its body (run-health.ts, which parses a supervised health
 * service's flags with the same definition) import, so neither imports the other.
 */
import type { Command } from "commander";

export interface HealthFlags {
  port?: string;
  host?: string;
  path?: string;
  root: string;
  config?: string;
  appCheck?: string;
  bootId?: string;
}

/** Add `health serve` (without its action) to `program`; returns the `serve` command. */
export function defineHealthServe(program: Command): Command {
  const health = program.command("health").description("muster's HTTP health endpoint");
  const serve = health
    .command("serve")
    .description("answer 503 until the gate is open for this boot, then 200 with the gate record")
    .option("--port <n>", "port (default: the boot config's gate.http.port)")
    .option("--host <addr>", "address to listen on (default: gate.http.host, else 0.0.0.0)")
    .option("--path <path>", "path to answer on (default: gate.http.path, else /health)")
    .option("--root <dir>", "root every path is resolved under", "/")
    .option("--config <file>", "boot config file (default: ROOT/etc/muster/boot.json or boot.yaml)")
    .option("--app-check <url>", "the app's own check, also required on every request")
    .option("--boot-id <id>", "boot id (default: MUSTER_BOOT_ID, else the kernel's)")
    .addHelpText("after", "\nRuns until SIGTERM or SIGINT.");
  for (const c of health.commands) c.exitOverride();
  health.exitOverride();
  return serve;
}
