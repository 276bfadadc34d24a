/** `muster schema boot|role|fleet`: JSON Schema for editors. */
import type { Command } from "commander";

export function registerSchema(program: Command): void {
  program
    .command("schema")
    .description(
      "print the JSON Schema of a file muster reads: boot (boot.json), role (roles/*.yaml or *.json) or fleet (fleet.yaml)",
    )
    .argument("<kind>", "boot, role or fleet")
    .action(async (kind: string) => {
      const { runSchema } = await import("../run-schema.ts");
      process.exitCode = runSchema(kind);
    });
}
