/**
 * What `muster fleet up` checks before it starts or writes anything, every problem as one line:
 * a state directory it would clear that is not a fleet's, the fleet's own inputs inside what it
 * clears, a role source that reads instance tags while tags are not in instance metadata, programs
 * fleet.yaml asks for that are not installed, an address block another fleet
 * (or program) holds, NODE_OPTIONS node refuses. Each would otherwise show up later as a deleted
 * directory, a crashed daemon, or instances dying at launch again and again.
 */
import { resolveCommand } from "../../host/command-path.ts";
import { takenAddresses } from "../instances/address-check.ts";
import { refusedNodeOptions } from "../instances/node-options.ts";
import { runningFleet } from "./control.ts";
import {
  type AddressRange,
  addressAt,
  type FleetConfig,
  metadataTagsProblem,
  parseAddressRange,
} from "./fleet-config.ts";
import { stateDirProblems } from "./state-dir.ts";

export async function preflightProblems(cfg: FleetConfig): Promise<string[]> {
  const problems = stateDirProblems(cfg.stateDir, cfg.source, [
    { field: "image.dir", path: cfg.image.dir },
    ...(["config", "app"] as const).flatMap((r) => [
      { field: `repositories.${r}.dir`, path: cfg.repositories[r].dir },
      { field: `repositories.${r}.bare`, path: cfg.repositories[r].bare },
    ]),
  ]);
  const tags = metadataTagsProblem(cfg);
  if (tags) problems.push(tags);
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
    const taken = await takenInBlock(cfg, cfg.instances.addresses);
    if (taken)
      problems.push(
        `${cfg.source}: instances.addresses: ${describeTaken(taken)} is taken already, by another fleet or program; give this fleet an address block of its own (instances.addresses or --addresses: a range no other fleet uses, such as 127.77.N.1-127.77.N.254 with another N)`,
      );
  }
  const nodeOptions = cfg.instances.environment.NODE_OPTIONS;
  const refused = nodeOptions === undefined ? undefined : refusedNodeOptions(process.execPath, nodeOptions);
  if (refused)
    problems.push(
      `${cfg.source}: instances.environment.NODE_OPTIONS: node refuses "${nodeOptions}" (${refused}); every instance would die at launch: leave that option out`,
    );
  return problems;
}

export interface TakenInBlock {
  host: string;
  port: number;
  /** the instances field the port is: appPort, healthPort, webPort */
  field: string;
  /** how many more of the block's address:port pairs are taken */
  more: number;
}

/** "127.77.0.3:8080 (the appPort) (and 2 more of its addresses and ports)" */
export function describeTaken(t: TakenInBlock): string {
  const more = t.more > 0 ? ` (and ${t.more} more of its addresses and ports)` : "";
  return `${t.host}:${t.port} (the ${t.field})${more}`;
}

/**
 * The first of a block's addresses and the instances' ports that something listens on already:
 * instances take the block's addresses in turn, so another fleet may hold any of them.
 */
export async function takenInBlock(cfg: FleetConfig, range: AddressRange): Promise<TakenInBlock | undefined> {
  const ports = new Map<number, string>([
    [cfg.instances.appPort, "appPort"],
    [cfg.instances.healthPort, "healthPort"],
  ]);
  if (cfg.instances.webServer === "nginx") ports.set(cfg.instances.webPort, "webPort");
  const hosts = Array.from({ length: range.count }, (_, i) => addressAt(range, i));
  const taken = await takenAddresses(hosts, [...ports.keys()]);
  if (taken.length === 0) return undefined;
  const { host, port } = taken[0]!;
  return { host, port, field: ports.get(port)!, more: taken.length - 1 };
}

/** The /24 blocks under 127.77 a default fleet moves to, in order, when the default one is taken. */
export function candidateBlocks(): string[] {
  return Array.from({ length: 254 }, (_, i) => `127.77.${i + 1}.1-127.77.${i + 1}.254`);
}

/**
 * For a fleet on the default address block that something holds already: the first free block
 * of candidateBlocks, and what held the default one. Undefined when the default is free, or
 * when the block was chosen (fleet.yaml or --addresses): a chosen block is never changed.
 */
export async function replacementBlock(
  cfg: FleetConfig,
  candidates: readonly string[] = candidateBlocks(),
): Promise<{ block: string; taken: TakenInBlock } | undefined> {
  if (!cfg.instances.addressesDefaulted || runningFleet(cfg.stateDir)) return undefined;
  const taken = await takenInBlock(cfg, cfg.instances.addresses);
  if (!taken) return undefined;
  for (const block of candidates) {
    const range = parseAddressRange(block) as AddressRange;
    if (!(await takenInBlock(cfg, range))) return { block, taken };
  }
  return undefined; // every block is taken: the preflight says so
}
