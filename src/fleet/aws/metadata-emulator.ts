/**
 * An EC2 instance metadata service (IMDSv2 only) over real HTTP, for tests and the local fleet.
 *
 * The official `MetadataService` client runs against it unchanged except for the endpoint:
 *   PUT /latest/api/token with `X-aws-ec2-metadata-token-ttl-seconds` (1..21600) issues a token;
 *   every GET needs `X-aws-ec2-metadata-token` with a valid, unexpired token (401 otherwise; IMDSv1
 *   is never served); paths may arrive with a double leading slash (`//latest/...`, the SDK does that).
 *
 * Several sandboxed instances share one emulator: the instance is chosen by the client's source
 * address (each sandbox binds its outgoing sockets to its own 127.77.0.N), falling back to a
 * configurable default instance. An instance with an instance profile (`iam`) serves its role's
 * temporary keys under `iam/` (credentials-issuer.ts). Faults (down, slow, 500s) can be switched on at any time, and every
 * request is recorded.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { InputError } from "../../core/errors.ts";
import { listenOn } from "../../host/listen.ts";
import { type IssuedKey, imdsCredentialsDocument } from "./credentials-issuer.ts";
import { identitySignatures, primaryInterface } from "./metadata-network.ts";

/** One emulated instance: what its metadata answers. */
export interface EmulatedInstance {
  instanceId: string;
  /** Source address that selects this instance (e.g. 127.77.0.3). */
  address?: string;
  securityGroups?: string[];
  /** Default "us-east-1a". */
  availabilityZone?: string;
  /** Default: the availability zone without its trailing letter. */
  region?: string;
  /** Default: `address`, else 10.0.0.10. */
  localIpv4?: string;
  amiId?: string;
  instanceType?: string;
  accountId?: string;
  /** Instance tags. `undefined` = tags are not allowed in metadata (`tags/instance` answers 404). */
  tags?: Record<string, string>;
  /** `autoscaling/target-lifecycle-state` (InService, Warmed:Stopped, ...); absent = 404. */
  targetLifecycleState?: string;
  /** `/latest/user-data`; absent = 404. */
  userData?: string;
  /**
   * `spot/instance-action` (and `spot/termination-time`): absent = 404, as until EC2 decides to
   * interrupt a spot instance ("Spot Instance interruption notices", Amazon EC2 user guide)
   */
  spotInstanceAction?: { action: "terminate" | "stop" | "hibernate"; time: string };
  /** `instance-life-cycle`: default "on-demand". */
  marketType?: "on-demand" | "spot";
  /** The primary interface's `security-group-ids`; default: made-up ids of `securityGroups`. */
  securityGroupIds?: string[];
  subnetId?: string;
  vpcId?: string;
  /** The instance profile: `iam/info` and `iam/security-credentials/`; absent = 404, as without one. */
  iam?: InstanceProfile;
}

export interface InstanceProfile {
  roleName: string;
  /** Default arn:aws:iam::ACCOUNT:instance-profile/ROLE. */
  instanceProfileArn?: string;
  /** The role's current temporary keys (asked at each request: they rotate). */
  credentials(): IssuedKey;
}

/**
 * A fault applies to every request, or only to those of one instance (`instanceId`) or under one
 * path prefix (`path`, e.g. "/latest/meta-data/tags"; the token PUT is "/latest/api/token").
 * - down: "destroy" (default) destroys the socket of each request; "refuse" stops listening, so
 *   connections are refused (whole emulator only) until the fault is cleared.
 * - slow: every answer is delayed by `delayMs`.
 * - error: every answer is HTTP `status` (default 500).
 */
export type MetadataFault =
  | { kind: "down"; mode?: "destroy" | "refuse"; instanceId?: string; path?: string }
  | { kind: "slow"; delayMs: number; instanceId?: string; path?: string }
  | { kind: "error"; status?: number; instanceId?: string; path?: string };

export interface MetadataRequestRecord {
  /** ms since the epoch (the emulator's clock) when the answer was sent. */
  time: number;
  method: string;
  /** Normalized path (single slashes, no query). */
  path: string;
  /** The request target exactly as received (e.g. "//latest/meta-data/instance-id"). */
  rawPath: string;
  remoteAddress: string;
  /** The instance the request resolved to, if any. */
  instanceId?: string;
  /** HTTP status sent, or "destroyed" when a down fault destroyed the socket. */
  status: number | "destroyed";
}

export interface MetadataEmulatorOptions {
  /** Address to listen on, default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  instances?: EmulatedInstance[];
  /**
   * The instance that answers requests whose source address matches no instance. `undefined`
   * (default) = the first of `instances`; `null` = none (such requests get 404).
   */
  defaultInstanceId?: string | null;
  /** Clock for token expiry, default Date.now. */
  now?: () => number;
}

export interface MetadataEmulator {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly requests: MetadataRequestRecord[];
  /** Add an instance, or replace the one with the same instanceId. */
  setInstance(instance: EmulatedInstance): void;
  /** Change some fields of an instance (e.g. its targetLifecycleState). */
  updateInstance(instanceId: string, patch: Partial<Omit<EmulatedInstance, "instanceId">>): void;
  removeInstance(instanceId: string): void;
  getInstance(instanceId: string): EmulatedInstance | undefined;
  setDefaultInstance(instanceId: string | null): void;
  /** Switch a fault on (or off with `undefined`). Resolves once it is in effect. */
  setFault(fault: MetadataFault | undefined): Promise<void>;
  /** Connections open right now (a client that leaves its sockets open shows here). */
  connections(): Promise<number>;
  close(): Promise<void>;
}

export const TOKEN_PATH = "/latest/api/token";
export const TOKEN_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
export const TOKEN_HEADER = "x-aws-ec2-metadata-token";
const MAX_TTL_SECONDS = 21600;

/** A metadata tree: directories are Maps, leaves are strings. */
type Node = string | Map<string, Node>;

/** Collapse repeated slashes, drop the query; `//latest/meta-data/` -> `/latest/meta-data/`. */
export function normalizeMetadataPath(target: string): string {
  const q = target.search(/[?#]/);
  const path = q === -1 ? target : target.slice(0, q);
  const collapsed = `/${path}`.replace(/\/{2,}/g, "/");
  return collapsed;
}

/** The region an availability zone belongs to ("us-east-1a" -> "us-east-1"). */
export function regionOfZone(zone: string): string {
  return zone.replace(/[a-z]$/, "");
}

function instanceTree(inst: EmulatedInstance): Map<string, Node> {
  const zone = inst.availabilityZone ?? "us-east-1a";
  const region = inst.region ?? regionOfZone(zone);
  const ip = inst.localIpv4 ?? inst.address ?? "10.0.0.10";
  const ami = inst.amiId ?? "ami-0123456789abcdef0";
  const type = inst.instanceType ?? "t3.micro";
  const hostname = `ip-${ip.replaceAll(".", "-")}.ec2.internal`;
  const accountId = inst.accountId ?? "123456789012";
  const securityGroups = inst.securityGroups ?? [];
  // "Instance metadata categories" (Amazon EC2 user guide): the interface, the market, services
  const nic = primaryInterface({
    instanceId: inst.instanceId,
    ipv4: ip,
    hostname,
    accountId,
    zone,
    securityGroups,
    securityGroupIds: inst.securityGroupIds,
    subnetId: inst.subnetId,
    vpcId: inst.vpcId,
  });
  const meta = new Map<string, Node>([
    ["ami-id", ami],
    ["ami-launch-index", "0"],
    ["hostname", hostname],
    ["instance-id", inst.instanceId],
    ["instance-life-cycle", inst.marketType ?? "on-demand"],
    ["instance-type", type],
    ["local-hostname", hostname],
    ["local-ipv4", ip],
    ["mac", nic.mac],
    [
      "network",
      new Map<string, Node>([
        [
          "interfaces",
          new Map<string, Node>([
            ["macs", new Map<string, Node>([[nic.mac, new Map<string, Node>(nic.leaves)]])],
          ]),
        ],
      ]),
    ],
    [
      "placement",
      new Map<string, Node>([
        ["availability-zone", zone],
        ["region", region],
      ]),
    ],
    ["security-groups", securityGroups.join("\n")],
    [
      "services",
      new Map<string, Node>([
        ["domain", "amazonaws.com"],
        ["partition", "aws"],
      ]),
    ],
  ]);
  // Tags only when the launch template enables InstanceMetadataTags; otherwise IMDS answers 404
  // ("Work with instance tags in instance metadata", Amazon EC2 user guide).
  if (inst.tags !== undefined) {
    meta.set("tags", new Map<string, Node>([["instance", new Map<string, Node>(Object.entries(inst.tags))]]));
  }
  if (inst.iam !== undefined) meta.set("iam", iamTree(inst.iam, inst.accountId ?? "123456789012"));
  if (inst.spotInstanceAction !== undefined) {
    const a = inst.spotInstanceAction;
    meta.set(
      "spot",
      new Map<string, Node>([
        ["instance-action", JSON.stringify({ action: a.action, time: a.time })],
        ...(a.action === "terminate" ? ([["termination-time", a.time]] as [string, Node][]) : []),
      ]),
    );
  }
  if (inst.targetLifecycleState !== undefined) {
    meta.set("autoscaling", new Map<string, Node>([["target-lifecycle-state", inst.targetLifecycleState]]));
  }
  const document = {
    accountId,
    architecture: "x86_64",
    availabilityZone: zone,
    billingProducts: null,
    devpayProductCodes: null,
    marketplaceProductCodes: null,
    imageId: ami,
    instanceId: inst.instanceId,
    instanceType: type,
    kernelId: null,
    pendingTime: "2024-01-01T00:00:00Z",
    privateIp: ip,
    ramdiskId: null,
    region,
    version: "2017-09-30",
  };
  const latest = new Map<string, Node>([
    [
      "dynamic",
      new Map<string, Node>([
        [
          "instance-identity",
          new Map<string, Node>([
            ["document", JSON.stringify(document, null, 2)],
            ...identitySignatures(inst.instanceId),
          ]),
        ],
      ]),
    ],
    ["meta-data", meta],
  ]);
  if (inst.userData !== undefined) latest.set("user-data", inst.userData);
  return new Map<string, Node>([["latest", latest]]);
}

/**
 * `iam/info` and `iam/security-credentials/ROLE`, as AWS serves them ("Retrieve security
 * credentials from instance metadata",
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html,
 * and "Instance metadata categories": iam/info).
 */
function iamTree(profile: InstanceProfile, account: string): Map<string, Node> {
  const keys = profile.credentials();
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  const info = {
    Code: "Success",
    LastUpdated: iso(keys.issuedAt),
    InstanceProfileArn:
      profile.instanceProfileArn ?? `arn:aws:iam::${account}:instance-profile/${profile.roleName}`,
    InstanceProfileId: `AIPA${profile.roleName
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, "")
      .padEnd(17, "X")
      .slice(0, 17)}`,
  };
  return new Map<string, Node>([
    ["info", JSON.stringify(info, null, 2)],
    ["security-credentials", new Map<string, Node>([[profile.roleName, imdsCredentialsDocument(keys)]])],
  ]);
}

function lookup(root: Map<string, Node>, path: string): Node | undefined {
  let node: Node = root;
  for (const raw of path.split("/").filter(Boolean)) {
    if (typeof node === "string") return undefined;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    const next: Node | undefined = node.get(seg);
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}

/** A directory as IMDS lists it: one name a line, sorted, subdirectories with a trailing slash. */
function listing(dir: Map<string, Node>): string {
  return [...dir.entries()]
    .map(([k, v]) => (typeof v === "string" ? k : `${k}/`))
    .sort()
    .join("\n");
}

function stripV4Mapped(addr: string | undefined): string {
  if (!addr) return "";
  return addr.startsWith("::ffff:") ? addr.slice(7) : addr;
}

function validateInstance(inst: EmulatedInstance): void {
  if (!inst || typeof inst.instanceId !== "string" || inst.instanceId === "") {
    throw new InputError("metadata emulator: an instance needs a non-empty instanceId");
  }
}

export async function startMetadataEmulator(opts: MetadataEmulatorOptions = {}): Promise<MetadataEmulator> {
  const host = opts.host ?? "127.0.0.1";
  const now = opts.now ?? Date.now;
  const instances = new Map<string, EmulatedInstance>();
  for (const inst of opts.instances ?? []) {
    validateInstance(inst);
    instances.set(inst.instanceId, { ...inst });
  }
  let defaultId: string | null =
    opts.defaultInstanceId === undefined ? (opts.instances?.[0]?.instanceId ?? null) : opts.defaultInstanceId;
  const tokens = new Map<string, { expiresAt: number; instanceId: string }>();
  const requests: MetadataRequestRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let fault: MetadataFault | undefined;
  let closed = false;
  let listening = false;

  const resolveInstance = (remote: string): EmulatedInstance | undefined => {
    for (const inst of instances.values()) if (inst.address && inst.address === remote) return inst;
    return defaultId === null ? undefined : instances.get(defaultId);
  };

  const faultApplies = (f: MetadataFault, path: string, inst: EmulatedInstance | undefined): boolean => {
    if (f.instanceId !== undefined && f.instanceId !== inst?.instanceId) return false;
    if (f.path !== undefined && !path.startsWith(f.path)) return false;
    return true;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? "GET";
    const rawPath = req.url ?? "/";
    const path = normalizeMetadataPath(rawPath);
    const remoteAddress = stripV4Mapped(req.socket.remoteAddress);
    const inst = resolveInstance(remoteAddress);
    const record = (status: MetadataRequestRecord["status"]) =>
      requests.push({
        time: now(),
        method,
        path,
        rawPath,
        remoteAddress,
        instanceId: inst?.instanceId,
        status,
      });
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      record(status);
      if (res.destroyed) return;
      res.writeHead(status, {
        "content-type": "text/plain",
        "content-length": String(Buffer.byteLength(body)),
        server: "EC2ws",
        ...headers,
      });
      res.end(body);
    };

    const f = fault && faultApplies(fault, path, inst) ? fault : undefined;
    if (f?.kind === "down") {
      record("destroyed");
      req.socket.destroy();
      return;
    }
    if (f?.kind === "error") {
      send(f.status ?? 500, "Internal Server Error");
      return;
    }

    const answer = () => {
      if (method === "PUT") {
        if (path !== TOKEN_PATH) return send(405, "Method Not Allowed", { allow: "GET" });
        if (req.headers["x-forwarded-for"] !== undefined) return send(403, "Forbidden");
        const ttlText = req.headers[TOKEN_TTL_HEADER];
        const ttl =
          typeof ttlText === "string" && /^\d+$/.test(ttlText.trim()) ? Number(ttlText) : Number.NaN;
        if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) return send(400, "Bad Request");
        if (!inst) return send(404, `no instance for source address ${remoteAddress}`);
        const t = now();
        for (const [k, v] of tokens) if (v.expiresAt <= t) tokens.delete(k);
        const token = randomBytes(42).toString("base64");
        tokens.set(token, { expiresAt: t + ttl * 1000, instanceId: inst.instanceId });
        return send(200, token, { [TOKEN_TTL_HEADER]: String(ttl) });
      }
      if (method !== "GET") return send(405, "Method Not Allowed", { allow: "GET, PUT" });
      if (path === TOKEN_PATH) return send(405, "Method Not Allowed", { allow: "PUT" });
      // IMDSv2 only: no valid token, no answer.
      const token = req.headers[TOKEN_HEADER];
      const entry = typeof token === "string" ? tokens.get(token) : undefined;
      if (!entry || entry.expiresAt <= now() || entry.instanceId !== inst?.instanceId) {
        return send(401, "Unauthorized");
      }
      if (!inst) return send(404, "Not Found");
      const node = lookup(instanceTree(inst), path);
      if (node === undefined) return send(404, "Not Found");
      if (typeof node === "string") return send(200, node);
      return send(200, listing(node));
    };

    if (f?.kind === "slow") {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!closed) answer();
      }, f.delayMs);
      timers.add(timer);
      return;
    }
    answer();
  };

  const server: Server = createServer(handle);
  // Keep-alive sockets would otherwise outlive a closed emulator in tests.
  server.keepAliveTimeout = 1000;

  const listen = async (port: number): Promise<number> => {
    const bound = await listenOn(server, host, port, "metadata emulator");
    listening = true;
    return bound;
  };
  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
      server.closeAllConnections();
    });

  const port = await listen(opts.port ?? 0);
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    requests,
    setInstance(instance) {
      validateInstance(instance);
      instances.set(instance.instanceId, { ...instance });
      if (defaultId === null && opts.defaultInstanceId === undefined && instances.size === 1) {
        defaultId = instance.instanceId;
      }
    },
    updateInstance(instanceId, patch) {
      const cur = instances.get(instanceId);
      if (!cur) throw new InputError(`metadata emulator: no instance "${instanceId}"`);
      instances.set(instanceId, { ...cur, ...patch, instanceId });
    },
    removeInstance(instanceId) {
      instances.delete(instanceId);
      for (const [k, v] of tokens) if (v.instanceId === instanceId) tokens.delete(k);
    },
    getInstance(instanceId) {
      const inst = instances.get(instanceId);
      return inst ? { ...inst } : undefined;
    },
    setDefaultInstance(instanceId) {
      defaultId = instanceId;
    },
    async setFault(next) {
      if (next?.kind === "down" && next.mode === "refuse" && (next.instanceId || next.path)) {
        throw new InputError("metadata emulator: a refusing down fault applies to the whole emulator");
      }
      if (next?.kind === "slow" && !(Number.isFinite(next.delayMs) && next.delayMs >= 0)) {
        throw new InputError("metadata emulator: a slow fault needs delayMs >= 0");
      }
      fault = next;
      if (closed) return;
      const refuse = next?.kind === "down" && next.mode === "refuse";
      if (refuse && listening) await stopListening();
      else if (!refuse && !listening) await listen(port);
    },
    connections() {
      return new Promise((resolve, reject) =>
        server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await stopListening();
    },
  };
}
