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
        "is replaced; under steady traffic no request fails while instances come and go.\n" +
        "Exit codes: 0 every promise held, 1 one did not.",
    )
    .action(async (opts) => {
      const { runFleetDemo } = await import("../../demo/fleet-demo.ts");
      process.exitCode = await runFleetDemo(opts);
    });
}
