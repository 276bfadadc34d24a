/** `muster fleet up|status|why|env|events|scale|refresh|fault|down`: the local fleet rehearsal. */
import type { Command } from "commander";

export function registerFleet(program: Command): void {
  const fleet = program
    .command("fleet")
    .description(
      "rehearse an auto-scaled fleet on this machine: autoscaling group, load balancer, sandboxed instances",
    )
    .addHelpText(
      "after",
      "\nEverything listens on loopback only. State, logs, instance roots and the control socket live in\n" +
        "the state directory (--state-dir, else the config's stateDir, else /var/lib/muster/fleet for root,\n" +
        "~/.local/state/muster/fleet (or $XDG_STATE_HOME/muster/fleet) for another user).",
    );
  const common = (c: Command) =>
    c
      .option(
        "--config <file>",
        "fleet.yaml (default: ./fleet.yaml when there is one, else the embedded example fleet)",
      )
      .option("--state-dir <dir>", "the fleet's state directory");

  common(
    fleet
      .command("up")
      .description("start the fleet (detached, unless --foreground) and print the load balancer's URL")
      .option("--foreground", "stay in the foreground and print events; Ctrl-C stops everything", false)
      .option(
        "--wait",
        "wait until the desired instances are InService behind the load balancer (exit 1 once three launches in a row fail)",
        false,
      )
      .option("--timeout <seconds>", "with --wait: give up after this long (default: 120)")
      .option(
        "--addresses <first-last>",
        "the instances' loopback address block, e.g. 127.77.5.1-127.77.5.254 (overrides instances.addresses)",
      )
      .option(
        "--dashboard-port <port>",
        "serve the dashboard on 127.0.0.1 at this port (default: 0, any free port); its URL is printed",
      )
      .option("--no-dashboard", "serve no dashboard")
      .option(
        "--from-template <file>",
        "rehearse a synthesized CloudFormation template (cdk.out/<Stack>.template.json): its group, hooks, health checks, instance role; over fleet.yaml's fields",
      )
      .option(
        "--group <logicalId>",
        "with --from-template: the Auto Scaling group to rehearse, when it has several",
      )
      .addHelpText(
        "after",
        "\nWith --from-template the template gives the AWS side (capacity, lifecycle hooks, health check\n" +
          "type and grace period, the target group's health check, metadata options, the instance role's\n" +
          "policy, the boot config's role source and retries) and replaces fleet.yaml's values for them;\n" +
          "the repositories, addresses and ports stay fleet.yaml's. Whatever it cannot follow is printed as\n" +
          "`not rehearsed: <LogicalId>.<Property>: why` and kept in `fleet status --json` (template).\n" +
          "\nWithout --addresses or instances.addresses the fleet takes 127.77.0.1-127.77.0.254, or, when\n" +
          "something listens there already, the first free 127.77.N.1-127.77.N.254, and says which.\n" +
          "\nThe dashboard's URL carries the fleet's key after '#': open it as printed (also in\n" +
          "`muster fleet status --json` as dashboard.url). It shows the group, its instances, their boots and\n" +
          "the event log live, and can scale and break things as `fleet scale` and `fleet fault` do.\n" +
          "\nExit codes: 0 up, 1 it could not start (see STATE/daemon.log) or --wait gave up (the fleet stays up),\n2 bad fleet.yaml.",
      ),
  ).action(async (opts) => {
    const { fleetUp } = await import("../run-fleet.ts");
    process.exitCode = await fleetUp(opts);
  });

  common(
    fleet
      .command("status")
      .description(
        "the group, the load balancer and every instance: lifecycle state, target health, boot, gate",
      )
      .option("--json", "print the status as JSON", false)
      .option(
        "--watch",
        "keep showing it until Ctrl-C or the fleet stops: redrawn on a terminal, else one status per interval",
        false,
      )
      .option("--interval <seconds>", "with --watch: seconds between statuses (default: 1)"),
  ).action(async (opts) => {
    const { fleetStatus } = await import("../run-fleet.ts");
    process.exitCode = await fleetStatus(opts);
  });

  common(
    fleet
      .command("why")
      .description(
        "why an instance never reached InService: the failure record its boot left (kept after it is terminated)",
      )
      .argument(
        "<instance>",
        "an id (i-0000000000000000a), its launch number (10) or the end of its id (i-a)",
      )
      .option("--json", "print the record as JSON", false)
      .addHelpText(
        "after",
        "\nA boot that gives up writes a record (stage, cause, attempts, its last log lines, redacted) to\n" +
          "its console and to the fleet's CloudWatch Logs group before it completes the lifecycle action\n" +
          "with ABANDON; the fleet keeps it after the instance is gone.\n" +
          "\nExit codes: 0 printed, 1 the instance left no record, 2 no such instance.",
      ),
  ).action(async (instance: string, opts) => {
    const { fleetWhy } = await import("../run-fleet.ts");
    process.exitCode = await fleetWhy(instance, opts);
  });

  common(
    fleet
      .command("env")
      .description(
        "print `export` lines for the AWS CLI and SDKs to drive the running fleet's Auto Scaling API as its operator",
      )
      .addHelpText(
        "after",
        "\nPrints, shell-quoted: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the operator's keys, full\n" +
          "rights on the fleet's group, not the instances' role; kept in STATE/operator-keys.json, mode 0600),\n" +
          "AWS_REGION and AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_AUTO_SCALING and MUSTER_AUTOSCALING_URL (the\n" +
          "same endpoint, for clients that do not read the former), and unsets AWS_SESSION_TOKEN and AWS_PROFILE.\n\n" +
          '  eval "$(muster fleet env)"\n' +
          '  aws autoscaling describe-auto-scaling-instances --endpoint-url "$AWS_ENDPOINT_URL_AUTO_SCALING"\n\n' +
          "Exit codes: 0 printed, 1 no fleet runs on this state directory.",
      ),
  ).action(async (opts) => {
    const { fleetEnv } = await import("../run-fleet.ts");
    process.exitCode = await fleetEnv(opts);
  });

  common(
    fleet
      .command("events")
      .description("the fleet's event log: lifecycle transitions, target health, boots, faults, scaling")
      .option("--follow", "keep printing new events until the fleet stops (or Ctrl-C)", false)
      .option("--json", "print events as JSON lines", false),
  ).action(async (opts) => {
    const { fleetEvents } = await import("../run-fleet.ts");
    process.exitCode = await fleetEvents(opts);
  });

  common(
    fleet
      .command("scale")
      .description(
        "set the group's desired capacity (SetDesiredCapacity); a value outside [min, max] is refused",
      )
      .argument("<n>", "desired capacity"),
  ).action(async (n: string, opts) => {
    const { fleetScale } = await import("../run-fleet.ts");
    process.exitCode = await fleetScale(n, opts);
  });

  common(
    fleet
      .command("refresh")
      .description(
        "roll a config ref out to the running instances: a new launch template version carrying it, and an instance refresh (StartInstanceRefresh) that replaces instances in batches; prints the refresh id",
      )
      .requiredOption("--ref <rev>", "the config repository's branch, tag or commit (pinned to its commit)")
      .option("--min-healthy-percentage <n>", "healthy capacity kept, percent of desired (default 90)")
      .option(
        "--instance-warmup <s>",
        "seconds a new instance must be healthy before it counts (default: the grace period)",
      )
      .option("--checkpoints <list>", "pause when these percentages are replaced, e.g. 50,100")
      .option("--checkpoint-delay <s>", "seconds each checkpoint waits (default 3600)")
      .option("--skip-matching", "leave instances already on this ref alone", false)
      .option(
        "--auto-rollback",
        "if a new instance fails its boot or health, return the replaced ones to the previous ref",
        false,
      )
      .addHelpText(
        "after",
        "\nFollow it with `muster fleet status` or `aws autoscaling describe-instance-refreshes` (see `muster fleet env`).",
      ),
  ).action(async (opts) => {
    const { fleetRefresh } = await import("../run-fleet.ts");
    process.exitCode = await fleetRefresh(opts);
  });

  common(
    fleet
      .command("fault")
      .description("break something on purpose")
      .argument(
        "<kind>",
        "git-down | git-up | git-slow | metadata-slow | kill | break-health | spot-interrupt",
      )
      .argument(
        "[value]",
        "MS for git-slow and metadata-slow (0 clears, at most 3600000), INSTANCE for kill, break-health and spot-interrupt",
      )
      .addHelpText(
        "after",
        "\n  git-down / git-up     the git server refuses connections / serves again (git-up also ends git-slow)\n" +
          "  git-slow MS           every git request waits MS ms (0: normal again)\n" +
          "  metadata-slow MS      every metadata answer waits MS ms (0: normal again)\n" +
          "  kill INSTANCE         SIGKILL every process of the instance (the machine is gone)\n" +
          "  break-health INSTANCE close its gate: its health check fails, ELB health replaces it\n" +
          "  spot-interrupt INSTANCE  announce a spot interruption in its metadata (spot/instance-action),\n" +
          "                        then terminate it instances.spotNotice seconds later (default 120)\n" +
          "INSTANCE is an id (i-0000000000000000a), its launch number (10) or the end of its id (i-a).",
      ),
  ).action(async (kind: string, value: string | undefined, opts) => {
    const { fleetFault } = await import("../run-fleet.ts");
    process.exitCode = await fleetFault(kind, value, opts);
  });

  common(
    fleet
      .command("down")
      .description("stop every process the fleet started and check, by pid, that none is left")
      .addHelpText(
        "after",
        "\nExit codes: 0 nothing left running, 1 a process had to be killed or could not be.",
      ),
  ).action(async (opts) => {
    const { fleetDown } = await import("../run-fleet.ts");
    process.exitCode = await fleetDown(opts);
  });

  for (const c of fleet.commands) c.exitOverride();
  fleet.exitOverride();
}
