/** `muster watch`: the departure half of a server's life (muster-watch.service). */
import type { Command } from "commander";

export function registerWatch(program: Command): void {
  program
    .command("watch")
    .description("watch for this server's departure (scale-in, spot interruption) and leave gracefully")
    .option("--root <dir>", "root every path is resolved under", "/")
    .option("--config <file>", "boot config file (default: ROOT/etc/muster/boot.json or boot.yaml)")
    .option("--boot-id <id>", "boot id for the gate (default: MUSTER_BOOT_ID, else the kernel's)")
    .addHelpText(
      "after",
      "\nPolls the metadata service (IMDSv2) every watch.interval seconds for autoscaling/target-lifecycle-state\n" +
        "and spot/instance-action. When the target state becomes Terminated (or a warm pool state from service),\n" +
        "or a spot interruption is announced: close the gate, wait for in-flight connections to drain.port to end\n" +
        "(at most drain.timeout), converge the role's shutdown run list, and complete lifecycle.terminateHook with\n" +
        "CONTINUE, with heartbeats meanwhile. Steps are logged as JSON lines in ROOT/var/log/muster/watch.log;\n" +
        "`muster status` shows the departure. SIGTERM during a departure lets the step in flight end and\n" +
        "be recorded before the watch exits.\n" +
        "\nExit codes: 0 departed with every step done, 1 a step failed, 2 bad boot config.",
    )
    .action(async (opts) => {
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
      const { runWatch } = await import("../../boot/watch.ts");
      process.exitCode = await runWatch({
        root: opts.root,
        config: opts.config,
        bootId: opts.bootId,
        handleSignals: true,
        say: (l) => process.stdout.write(`${l}\n`),
      });
    });
}
