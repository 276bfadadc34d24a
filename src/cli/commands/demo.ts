/** `muster demo`: the embedded default, runnable on a fresh clone with nothing but Node.js and git. */
import type { Command } from "commander";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("show muster at work on the example repositories, on this machine only")
    .option("--keep", "keep the demo's temporary directory instead of removing it", false)
    .action(async (opts) => {
      const { runDemo } = await import("../../demo/converge-demo.ts");
      process.exitCode = await runDemo(opts);
    });
}
