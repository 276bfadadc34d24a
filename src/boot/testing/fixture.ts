/**
 * A boot rehearsal for tests and the benchmark: a temporary root with a boot config, the example
 * config and app repositories as local bare git repositories, and the metadata and Auto Scaling
 * emulators on loopback with one instance waiting on a launch lifecycle hook.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { bareRepoFrom } from "../../demo/example-repos.ts";
import { defaultInstancePolicy, groupArnPattern } from "../../fleet/aws/autoscaling-auth.ts";
import {
  type AutoScalingCall,
  type AutoScalingEmulator,
  startAutoScalingEmulator,
} from "../../fleet/aws/autoscaling-emulator.ts";
import {
  type EmulatedInstance,
  type MetadataEmulator,
  startMetadataEmulator,
} from "../../fleet/aws/metadata-emulator.ts";
import { stopSupervisor } from "../../providers/supervisor-client.ts";
import { EXAMPLES, tmpDir } from "../../test-support/tmp.ts";

export const INSTANCE_ID = "i-0123456789abcdef0";
export const GROUP = "web-asg";
export const HOOK = "launch-hook";
export const BOOT_ID = "11111111-2222-3333-4444-555555555555";
export const GATE_FILE = "/srv/www/ping.html";
export const ROLE = "web-instance";

export interface BootFixture {
  root: string;
  configBare: string;
  appBare: string;
  meta: MetadataEmulator;
  asg: AutoScalingEmulator;
  /** the boot config written for the root, before overrides */
  baseConfig(): Record<string, any>;
  writeConfig(config: Record<string, any>): void;
  /** put the instance into the launch hook's wait state (again) */
  startAction(): void;
  completions(result?: "CONTINUE" | "ABANDON"): AutoScalingCall[];
  heartbeats(): AutoScalingCall[];
  close(): Promise<void>;
}

export const INSTANCE: EmulatedInstance = {
  instanceId: INSTANCE_ID,
  securityGroups: ["default", "web"],
  availabilityZone: "us-east-1a",
  tags: { "aws:autoscaling:groupName": GROUP, Name: "web" },
};

/** The example repos as bare repositories, made once per test file. */
export async function exampleBareRepos(): Promise<{ configBare: string; appBare: string }> {
  const dir = tmpDir("muster-boot-repos-");
  const configBare = path.join(dir, "config.git");
  const appBare = path.join(dir, "app.git");
  await bareRepoFrom(path.join(EXAMPLES, "config-repo"), configBare);
  await bareRepoFrom(path.join(EXAMPLES, "app"), appBare);
  return { configBare, appBare };
}

/**
 * `region`: the instance's (its zone is the region's first) and the one its Auto Scaling API
 * expects signatures scoped to, as each region's endpoint does; us-east-1 unless given.
 */
export async function bootFixture(
  repos: { configBare: string; appBare: string },
  opts: { region?: string } = {},
): Promise<BootFixture> {
  const region = opts.region ?? "us-east-1";
  const root = tmpDir("muster-boot-root-");
  // each root's app runs as a service on an address of its own: a port just freed on 127.0.0.1
  // could be taken meanwhile by any other test's server on port 0
  const appHost = ownAddress();
  const appPort = await freePort(appHost);
  const asg = await startAutoScalingEmulator({
    region,
    hooks: [{ group: GROUP, hook: HOOK }],
    instances: [{ instanceId: INSTANCE_ID, group: GROUP, lifecycleState: "Pending" }],
  });
  // the instance profile: the role's keys, served by the metadata service, accepted by Auto Scaling
  const policy = defaultInstancePolicy(groupArnPattern(region, asg.issuer.account, GROUP));
  const meta = await startMetadataEmulator({
    instances: [
      {
        ...INSTANCE,
        availabilityZone: `${region}a`,
        iam: { roleName: ROLE, credentials: () => asg.issuer.roleKeys(ROLE, INSTANCE_ID, policy) },
      },
    ],
  });
  const base = () => ({
    repo: { url: repos.configBare, ref: "master" },
    role: "security-groups",
    gate: { file: GATE_FILE },
    lifecycle: { hook: HOOK, heartbeatInterval: 0.05 },
    retries: { attempts: 2, backoffBase: 0.01, backoffCap: 0.02, jitter: 0.5, deadline: 60 },
    endpoints: { metadata: meta.url, autoscaling: asg.url, region },
    timeouts: { metadata: 1, lifecycle: 3, git: 10, deps: 60 },
    attributes: { app: { repo: repos.appBare, host: appHost, port: appPort } },
  });
  const fx: BootFixture = {
    root,
    ...repos,
    meta,
    asg,
    baseConfig: base,
    writeConfig(config) {
      mkdirSync(path.join(root, "etc/muster"), { recursive: true });
      writeFileSync(path.join(root, "etc/muster/boot.json"), `${JSON.stringify(config, null, 2)}\n`, {
        mode: 0o600,
      });
    },
    startAction() {
      if (!asg.pendingActions().some((a) => a.instanceId === INSTANCE_ID))
        asg.startLifecycleAction({ group: GROUP, hook: HOOK, instanceId: INSTANCE_ID });
    },
    completions(result) {
      return asg.calls.filter(
        (c) =>
          c.action === "CompleteLifecycleAction" &&
          c.status === 200 &&
          (result === undefined || c.params.LifecycleActionResult === result),
      );
    },
    heartbeats() {
      return asg.calls.filter((c) => c.action === "RecordLifecycleActionHeartbeat" && c.status === 200);
    },
    async close() {
      await stopSupervisor(root).catch(() => false); // the app service a converge started
      await meta.close();
      await asg.close();
    },
  };
  fx.writeConfig(base());
  fx.startAction();
  return fx;
}

let addresses = 0;

/** A loopback address for this fixture alone: 127.89.<this process>.<n>. */
function ownAddress(): string {
  addresses = (addresses % 254) + 1;
  return `127.89.${(process.pid % 254) + 1}.${addresses}`;
}

/** A loopback port nothing listens on (just freed). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const { createServer } = await import("node:net");
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** What cloud-init records on an EC2 instance: the boot's way to the instance id without metadata. */
export function cloudInitInstanceId(root: string): void {
  mkdirSync(path.join(root, "var/lib/cloud/data"), { recursive: true });
  writeFileSync(path.join(root, "var/lib/cloud/data/instance-id"), `${INSTANCE_ID}\n`);
}

/** The JSON-lines boot log of a root, parsed. */
export function bootLog(root: string): Record<string, any>[] {
  let text: string;
  try {
    text = readFileSync(path.join(root, "var/log/muster/boot.log"), "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/**
 * The top-level keys of one JSON object line, from its raw text, in order and with repeats:
 * JSON.parse keeps only the last of a repeated key, so it cannot show one.
 */
export function rawTopLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(line.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = c === "{" && depth === 1;
    } else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 1) expectKey = true;
  }
  return keys;
}

/** The keys that occur more than once at the top of each line of a JSON-lines text. */
export function duplicatedKeys(text: string): { line: number; keys: string[] }[] {
  return text
    .split("\n")
    .map((l, i) => {
      const keys = rawTopLevelKeys(l);
      return { line: i + 1, keys: [...new Set(keys.filter((k, n) => keys.indexOf(k) !== n))] };
    })
    .filter((d) => d.keys.length > 0);
}
