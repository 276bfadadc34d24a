/** `muster image prepare`: clean a server before an image is captured from it. */
import type { Command } from "commander";

export function registerImage(program: Command): void {
  const image = program.command("image").description("preparing a machine image");
  image
    .command("prepare")
    .description("remove the gate, muster's state, logs and the configured checkouts, printing each")
    .option("--root <dir>", "root every path is resolved under", "/")
    .option("--config <file>", "boot config file (default: ROOT/etc/muster/boot.json or boot.yaml)")
    .option("--dry-run", "print what would be removed; remove nothing", false)
    .action(async (opts) => {
      const { runImagePrepare } = await import("../run-image.ts");
      process.exitCode = await runImagePrepare(opts);
    });
  for (const c of image.commands) c.exitOverride();
  image.exitOverride();
}
