/**
 * What `muster fleet up` checks before it starts or writes anything, every problem as one line:
 * a state directory it would clear that is not a fleet's, the fleet's own inputs inside what it
 * clears, programs fleet.yaml asks for that are not installed, an address block another fleet
 * (or program) holds, NODE_OPTIONS node refuses. Each would otherwise show up later as a deleted
 * directory, a crashed daemon, or instances dying at launch again and again.
 */
import { resolveCommand } from "../../host/command-path.ts";
import { takenAddresses } from "../instances/address-check.ts";
import { refusedNodeOptions } from "../instances/node-options.ts";
import { runningFleet } from "./control.ts";
import { addressAt, type FleetConfig } from "./fleet-config.ts";
import { stateDirProblems } from "./state-dir.ts";

export async function preflightProblems(cfg: FleetConfig): Promise<string[]> {
  const problems = stateDirProblems(cfg.stateDir, cfg.source, [
    { field: "image.dir", path: cfg.image.dir },
    ...(["config", "app"] as const).flatMap((r) => [
      { field: `repositories.${r}.dir`, path: cfg.repositories[r].dir },
      { field: `repositories.${r}.bare`, path: cfg.repositories[r].bare },
    ]),
  ]);
  const programs = [
    ...(cfg.instances.webServer === "nginx"
      ? [{ field: "instances.nginx", cmd: cfg.instances.nginx, pkg: "nginx-light" }]
      : []),
    ...(cfg.loadBalancer.kind === "haproxy"
      ? [{ field: "loadBalancer.haproxy", cmd: cfg.loadBalancer.haproxy, pkg: "haproxy" }]
      : []),
  ];
  for (const p of programs)
    if (!resolveCommand(p.cmd, process.env.PATH))
      problems.push(
        `${cfg.source}: ${p.field}: ${p.cmd} is no program on this machine; install it (Debian: apt-get install ${p.pkg}) or give its path`,
      );
  // a fleet running on this state directory holds its own addresses; `up` refuses it later
  if (!runningFleet(cfg.stateDir)) {
    const ports = new Map<number, string>([
      [cfg.instances.appPort, "appPort"],
      [cfg.instances.healthPort, "healthPort"],
    ]);
    if (cfg.instances.webServer === "nginx") ports.set(cfg.instances.webPort, "webPort");
    const range = cfg.instances.addresses;
    const hosts = Array.from({ length: range.count }, (_, i) => addressAt(range, i));
    const taken = await takenAddresses(hosts, [...ports.keys()]);
    if (taken.length > 0) {
      const { host, port } = taken[0]!;
      const more = taken.length > 1 ? ` (and ${taken.length - 1} more of its addresses and ports)` : "";
      problems.push(
        `${cfg.source}: instances.addresses: ${host}:${port} (the ${ports.get(port)})${more} is taken already, by another fleet or program; give this fleet an address block of its own (instances.addresses: a range no other fleet uses, such as 127.77.N.1-127.77.N.254 with another N)`,
      );
    }
  }
  const nodeOptions = cfg.instances.environment.NODE_OPTIONS;
  const refused = nodeOptions === undefined ? undefined : refusedNodeOptions(process.execPath, nodeOptions);
  if (refused)
    problems.push(
      `${cfg.source}: instances.environment.NODE_OPTIONS: node refuses "${nodeOptions}" (${refused}); every instance would die at launch: leave that option out`,
    );
  return problems;
}
