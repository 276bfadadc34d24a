/** `muster init [DIR]`: a new config repository with a role, a recipe, an app and a fleet.yaml. */
import type { Command } from "commander";

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("create a config repository that checks clean and rehearses a fleet at once")
    .argument("[dir]", "a new or empty directory (default: the current directory)")
    .addHelpText(
      "after",
      "\nWrites roles/web.yaml, recipes/app.ts, attributes/app.json, templates/app.env.eta, tsconfig.json\n" +
        "(editors complete recipe(...) and resource props from this muster), package.json, a tiny app in\n" +
        "app/ and fleet.yaml (a local fleet of the web role running that app). Then:\n" +
        "  muster check --repo DIR\n" +
        "  muster fleet up --config DIR/fleet.yaml --wait\n" +
        "Exit codes: 0 written, 2 DIR is not empty (nothing is written).",
    )
    .action(async (dir: string | undefined) => {
      const { runInit } = await import("../run-init.ts");
      process.exitCode = runInit(dir);
    });
}
