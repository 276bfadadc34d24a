/** `muster supervise`: the per-root service supervisor (run it, stop it, ask it). */
import type { Command } from "commander";
import { InputError } from "../../core/errors.ts";
import { EXIT } from "../errors.ts";

export function registerSupervise(program: Command): void {
  program
    .command("supervise")
    .description("run, stop or query the service supervisor of a root (what runs services in a sandbox)")
    .argument("[action]", "run (default: stay in the foreground), stop (it and every service), status", "run")
    .requiredOption("--root <dir>", "the root whose services it supervises")
    .option("--json", "status: print the services as JSON", false)
    .addHelpText(
      "after",
      "\nA converge starts `muster supervise --root DIR` by itself, detached, when a service needs it.\n" +
        "It keeps pids and state under DIR/run/muster/, logs under DIR/var/log/muster/, and stops\n" +
        "every service when it stops (SIGTERM, `muster supervise stop`, or DIR disappearing).\n" +
        "Exit codes: 0 ok, 1 failure, 2 bad usage.",
    )
    .action(async (action: string, opts: { root: string; json: boolean }) => {
      if (!["run", "stop", "status"].includes(action))
        throw new InputError(`supervise ${action}: unknown action; use run, stop or status`);
      const { runSupervise } = await import("../run-supervise.ts");
      process.exitCode = (await runSupervise(action as "run" | "stop" | "status", opts))
        ? EXIT.ok
        : EXIT.failed;
    });
}
