/** `muster schema boot|role`: JSON Schema for editors. */
import type { Command } from "commander";

export function registerSchema(program: Command): void {
  program
    .command("schema")
    .description("print the JSON Schema of a file muster reads: boot (boot.json) or role (roles/*.json)")
    .argument("<kind>", "boot or role")
    .action(async (kind: string) => {
      const { runSchema } = await import("../run-schema.ts");
      process.exitCode = runSchema(kind);
    });
}
