/** `muster demo`: the embedded default, runnable on a fresh clone with nothing but Node.js and git. */
import type { Command } from "commander";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("rehearse an auto-scaled fleet of the example app on this machine (loopback only)")
    .option(
      "--keep",
      "leave the fleet running at the end (stop it with `muster fleet down --state-dir DIR`)",
      false,
    )
    .addHelpText(
      "after",
      "\nStarts two `web` instances behind a load balancer, then shows: a new app commit plus a scale-out\n" +
        "gives an instance that serves it; with the git server down a new instance never gets a request and\n" +
        "is replaced; under steady traffic no request fails while instances come and go; a scale-in drains\n" +
        "(muster watch runs the shutdown run list, then CONTINUE on the terminate hook); a config change\n" +
        "rolls out as an instance refresh with a checkpoint; a config change that breaks the role is rolled\n" +
        "back by itself (AutoRollback), no instance on it ever in service.\n" +
        "Exit codes: 0 every promise held, 1 one did not.",
    )
    .action(async (opts) => {
      const { runFleetDemo } = await import("../../demo/fleet-demo.ts");
      process.exitCode = await runFleetDemo(opts);
    });
}
