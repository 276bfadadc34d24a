/** `muster health serve`: the HTTP health gate. */
import type { Command } from "commander";
import { defineHealthServe, type HealthFlags } from "../health-flags.ts";

export function registerHealth(program: Command): void {
  defineHealthServe(program).action(async (opts: HealthFlags) => {
    const { runHealthServe } = await import("../run-health.ts");
    process.exitCode = await runHealthServe(opts);
  });
}
