/** `muster converge`: bring a root to what a role describes. */
import type { Command } from "commander";
import { EXIT } from "../errors.ts";

export function registerConverge(program: Command): void {
  program
    .command("converge")
    .description("converge a root (default /) to a role of a config repository")
    .requiredOption("--repo <dir>", "config repository directory")
    .requiredOption("--role <name>", "role to converge (roles/<name>.json or .yaml)")
    .option("--root <dir>", "root every resource path is resolved under", "/")
    .option("--dry-run", "read and diff only; change nothing", false)
    .option("--json", "print the report as JSON", false)
    .option("--environment <env>", "use the roles' env_run_lists for this environment")
    .option("--attr <key.path=value>", "override an attribute (repeatable)", collect, [])
    .option("--lock-wait <seconds>", "how long to wait for another run on the same root", "30")
    .addHelpText(
      "after",
      "\nExit codes: 0 converged, 1 a resource failed, 2 bad input (nothing changed).\n" +
        'Example (a dry run into an empty directory: what a new server would get):\n  muster converge --repo examples/config-repo --role web --root "$(mktemp -d)" --dry-run',
    )
    .action(async (opts) => {
      const { runConverge } = await import("../run-converge.ts");
      process.exitCode = (await runConverge(opts)) ? EXIT.ok : EXIT.failed;
    });
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}
