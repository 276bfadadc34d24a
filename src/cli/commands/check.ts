/** `muster check`: validate a config repository without touching any host. */
import type { Command } from "commander";
import { EXIT } from "../errors.ts";

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("validate roles, recipes (type-check and compile) and templates; touches no host")
    .requiredOption("--repo <dir>", "config repository directory")
    .option("--role <name>", "check only this role (default: every role)")
    .option("--typecheck", "type-check recipes, and count a missing TypeScript compiler as a problem")
    .option("--no-typecheck", "skip the TypeScript type-check of recipes")
    .addHelpText(
      "after",
      "\nReports every problem at once, each with its file and path. Exit codes: 0 ok, 2 problems found.\n" +
        "Recipes are type-checked with the config repository's TypeScript (node_modules/typescript; add it\n" +
        "with `npm install --save-dev typescript` there) or a tsc on PATH. Without one the type-check is\n" +
        "skipped with a warning, unless --typecheck demands it.",
    )
    .action(async (opts) => {
      const { runCheck } = await import("../run-check.ts");
      const problems = await runCheck(opts);
      process.exitCode = problems === 0 ? EXIT.ok : EXIT.input;
    });
}
