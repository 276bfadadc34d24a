/**
 * Instance identity from the EC2 instance metadata service, IMDSv2 only.
 *
 * Uses the official `MetadataService` client: one session token for the whole read (a failed
 * token request never falls back to IMDSv1: every GET carries the token), an explicit HTTP
 * timeout (the client's default is none), bounded retries and an overall deadline. The SDK is imported lazily, inside `readIdentity`, so
 * loading this module (e.g. for `muster --version`) never loads the AWS SDK.
 *
 * Every failure is a RunError (TimeoutError for time-outs) with one line naming the endpoint and
 * the path: "metadata service at http://127.0.0.1:1234 did not answer GET
 * /latest/meta-data/instance-id within 1000 ms".
 */
import type { MetadataService } from "@aws-sdk/ec2-metadata-service";
import { InputError, RunError, TimeoutError } from "../core/errors.ts";

export const DEFAULT_METADATA_ENDPOINT = "http://169.254.169.254";

export interface ReadIdentityOptions {
  /** Metadata endpoint, default http://169.254.169.254 (AWS's). */
  endpoint?: string;
  /** Per HTTP request (token PUT and GET each), ms. Default 1000. */
  timeoutMs?: number;
  /**
   * Retries after the first attempt of each path, and of the token request (5xx, time-outs,
   * refused); default 2.
   */
  retries?: number;
  /** Pause before retry n (0-based) is backoffMs * 2^n. Default 200. */
  backoffMs?: number;
  /** Overall bound for the whole read, ms. Default 10000. */
  deadlineMs?: number;
  /** TTL asked for the session token, seconds (1..21600). Default 60, or the deadline if longer. */
  tokenTtlSeconds?: number;
  /** Read /latest/user-data too (default true). */
  userData?: boolean;
}

export interface InstanceIdentity {
  instanceId: string;
  securityGroups: string[];
  availabilityZone: string;
  region?: string;
  /** Instance tags; undefined when tags are not allowed in instance metadata. */
  tags?: Record<string, string>;
  /** Auto Scaling's target lifecycle state (InService, Warmed:Stopped, ...), when present. */
  targetLifecycleState?: string;
  /** The instance's user data, when it has some. */
  userData?: string;
}

const P = {
  instanceId: "/latest/meta-data/instance-id",
  securityGroups: "/latest/meta-data/security-groups",
  zone: "/latest/meta-data/placement/availability-zone",
  region: "/latest/meta-data/placement/region",
  tags: "/latest/meta-data/tags/instance",
  lifecycle: "/latest/meta-data/autoscaling/target-lifecycle-state",
  userData: "/latest/user-data",
  document: "/latest/dynamic/instance-identity/document",
} as const;

const TOKEN_PATH = "/latest/api/token";
const TOKEN_HEADER = "x-aws-ec2-metadata-token";

function positiveInt(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InputError(`readIdentity: ${name} must be an integer from ${min} to ${max} (got ${value})`);
  }
  return value;
}

/** Tag keys go into the path; keep the characters IMDS uses as they are, escape the rest. */
export function encodeTagKey(key: string): string {
  return key.replace(/[^A-Za-z0-9._:@+=-]/g, (c) => encodeURIComponent(c));
}

/** Lines of a metadata listing, trimmed, empty ones dropped. */
export function metadataLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

interface Failure {
  status?: number;
  timedOut: boolean;
  tokenStep: boolean;
  detail: string;
}

/** Read what the SDK's wrapped errors say (they carry little structure). */
function classify(err: unknown): Failure {
  const e = err as { message?: unknown; $metadata?: { httpStatusCode?: number }; statusCode?: number };
  const message = typeof e?.message === "string" ? e.message : String(err);
  let status = e?.$metadata?.httpStatusCode ?? e?.statusCode;
  const m = /status code (\d{3})/.exec(message);
  if (status === undefined && m) status = Number(m[1]);
  // The HTTP handler renames ECONNRESET/EPIPE errors "TimeoutError": look at what happened first.
  const reset = /ECONNRESET|EPIPE|socket hang up/i.test(message);
  const refused = /ECONNREFUSED/.test(message);
  const timedOut =
    !reset &&
    !refused &&
    /TimeoutError|timed? ?out|ETIMEDOUT|exceeded the configured|did not establish a connection/i.test(
      message,
    );
  const tokenStep = /metadata token/i.test(message);
  let detail = message
    .replace(/^Error (making request to the metadata service|fetching metadata token): /, "")
    .replace(/^Error: /, "")
    .replace(/\. \[disableFetchToken\] is now set to true\.$/, "");
  if (refused) detail = "connection refused";
  else if (reset) detail = "connection reset";
  return { status, timedOut, tokenStep, detail };
}

function describeFailure(
  endpoint: string,
  path: string,
  f: Failure,
  timeoutMs: number,
  attempts: number,
  cause: unknown,
): RunError {
  const where = `metadata service at ${endpoint}`;
  const tries = attempts > 1 ? ` (${attempts} attempts)` : "";
  if (f.timedOut) {
    const step = f.tokenStep ? ` (the token request PUT ${TOKEN_PATH} timed out)` : "";
    return new TimeoutError(`${where} did not answer GET ${path} within ${timeoutMs} ms${step}${tries}`, {
      cause,
    });
  }
  if (f.status !== undefined) {
    const what = f.tokenStep ? `PUT ${TOKEN_PATH} (token for GET ${path})` : `GET ${path}`;
    const hint = f.status === 401 ? "; the session token was rejected" : "";
    return new RunError(
      `${where} answered ${what} with HTTP ${f.status}${hint}${f.status >= 500 ? tries : ""}`,
      { cause },
    );
  }
  return new RunError(`${where} failed GET ${path}: ${f.detail}${tries}`, { cause });
}

/**
 * One IMDSv2 session: a token asked for once (again only when the service rejects it), and GETs
 * that carry it, each bounded and retried as `opts` says. readIdentity reads through one; `muster
 * watch` keeps one for its polls.
 */
export interface MetadataSession {
  endpoint: string;
  timeoutMs: number;
  deadlineMs: number;
  /** GET a path; `undefined` when optional and the service answers 404. */
  get(path: string, optional?: boolean): Promise<string | undefined>;
}

export async function openMetadataSession(opts: ReadIdentityOptions = {}): Promise<MetadataSession> {
  const endpoint = (opts.endpoint ?? DEFAULT_METADATA_ENDPOINT).replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InputError(
      `readIdentity: metadata endpoint "${endpoint}" is not a URL (e.g. http://169.254.169.254)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InputError(`readIdentity: metadata endpoint "${endpoint}" must be http:// or https://`);
  }
  const timeoutMs = positiveInt("timeoutMs", opts.timeoutMs ?? 1000, 1);
  const retries = positiveInt("retries", opts.retries ?? 2, 0, 10);
  const backoffMs = positiveInt("backoffMs", opts.backoffMs ?? 200, 0);
  const deadlineMs = positiveInt("deadlineMs", opts.deadlineMs ?? 10_000, 1);
  // one token serves the whole read: by default it outlives the read's deadline
  const tokenTtl = positiveInt(
    "tokenTtlSeconds",
    opts.tokenTtlSeconds ?? Math.min(21600, Math.max(60, Math.ceil(deadlineMs / 1000) + 1)),
    1,
    21600,
  );

  const { MetadataService: Service } = await import("@aws-sdk/ec2-metadata-service");
  const common = {
    endpoint,
    httpOptions: { timeout: timeoutMs },
    retries,
    backoff: (n: number) => new Promise<void>((r) => setTimeout(r, backoffMs * 2 ** n)),
  };
  // The client asks for a new session token before every GET it makes (a PUT and a connection
  // more per path: twice the requests, and twice the round trips one after the other). One token
  // serves the whole read here, as IMDSv2 intends: a client for the token PUT, and one for the
  // GETs that never asks for a token itself (`disableFetchToken`) but is always given this one.
  // Its IMDSv1 switch is off only because the client refuses to run with both; every GET it makes
  // carries the token, so IMDSv1 is still never used.
  const tokens: MetadataService = new Service({ ...common, ec2MetadataV1Disabled: true, tokenTtl });
  // Retried here, not by the client: it would retry a rejected token (401) as it is, backoff and
  // all, where the only cure is a new token.
  const service: MetadataService = new Service({
    ...common,
    retries: 0,
    ec2MetadataV1Disabled: false,
    disableFetchToken: true,
  });
  let token: Promise<string> | undefined;
  /** the session token, asked for once (again only after the service rejected it) */
  const sessionToken = (renew = false): Promise<string> => {
    if (renew || token === undefined) {
      token = tokens.fetchMetadataToken();
      token.catch(() => {}); // awaited by every GET; a failure is reported there
    }
    return token;
  };

  /** GET a path; `undefined` when optional and the service answers 404. */
  const get = async (path: string, optional = false): Promise<string | undefined> => {
    let renewed = false;
    for (let attempt = 0; ; ) {
      const current = sessionToken();
      try {
        const t = await current;
        // The client makes a new keep-alive agent for every request and never reads the body of
        // an answer other than 200: such a socket stays open (and holds the process) until the
        // service drops it. Asking the service to close each connection leaves nothing open.
        return await service.request(path, { headers: { connection: "close", [TOKEN_HEADER]: t } });
      } catch (err) {
        const f = classify(err);
        if (optional && f.status === 404 && !f.tokenStep) return undefined;
        // 401: the token expired or the service forgot it (it restarted): one new token, once
        if (f.status === 401 && !f.tokenStep && !renewed) {
          renewed = true;
          if (token === current) sessionToken(true);
          continue;
        }
        // the token's client has retried its PUT already; 400, 401, 403 and 404 are answers (the
        // client's own rule), anything else is retried
        const answered = f.status !== undefined && [400, 401, 403, 404].includes(f.status);
        const final = f.tokenStep || answered || attempt >= retries;
        if (final) throw describeFailure(endpoint, path, f, timeoutMs, retries + 1, err);
        await common.backoff(attempt++);
      }
    }
  };

  return { endpoint, timeoutMs, deadlineMs, get };
}

/**
 * Read the instance's identity. Instance id, security groups and availability zone are required;
 * region, tags, target lifecycle state and user data are optional (404 = absent). Any other
 * failure of any path fails the whole read (fail closed).
 */
export async function readIdentity(
  opts: ReadIdentityOptions = {},
  /** a session to read through (the boot keeps identify's for its departure-check) */
  session?: MetadataSession,
): Promise<InstanceIdentity> {
  const { endpoint, get, deadlineMs } = session ?? (await openMetadataSession(opts));
  const read = async (): Promise<InstanceIdentity> => {
    // One required path first: if the service is unreachable, fail on it alone.
    const instanceId = ((await get(P.instanceId)) ?? "").trim();
    if (!instanceId)
      throw new RunError(`metadata service at ${endpoint} answered GET ${P.instanceId} with an empty body`);
    const readTags = async (): Promise<Record<string, string> | undefined> => {
      const list = await get(P.tags, true);
      if (list === undefined) return undefined;
      const keys = metadataLines(list);
      const values = await Promise.all(keys.map((k) => get(`${P.tags}/${encodeTagKey(k)}`)));
      // fromEntries defines own properties, so a key like "__proto__" stays a plain key.
      return Object.fromEntries(keys.map((k, i) => [k, values[i] ?? ""]));
    };
    const [groups, zone, region, tags, lifecycle, userData] = await Promise.all([
      get(P.securityGroups),
      get(P.zone),
      get(P.region, true),
      readTags(),
      get(P.lifecycle, true),
      opts.userData === false ? Promise.resolve(undefined) : get(P.userData, true),
    ]);
    const availabilityZone = (zone ?? "").trim();
    if (!availabilityZone)
      throw new RunError(`metadata service at ${endpoint} answered GET ${P.zone} with an empty body`);
    let regionName = region?.trim() || undefined;
    if (regionName === undefined) {
      const doc = await get(P.document, true);
      if (doc !== undefined) {
        try {
          const parsed = JSON.parse(doc) as { region?: unknown };
          if (typeof parsed.region === "string" && parsed.region) regionName = parsed.region;
        } catch {
          throw new RunError(`metadata service at ${endpoint} answered GET ${P.document} with invalid JSON`);
        }
      }
    }
    const identity: InstanceIdentity = {
      instanceId,
      securityGroups: metadataLines(groups ?? ""),
      availabilityZone,
    };
    if (regionName !== undefined) identity.region = regionName;
    if (tags !== undefined) identity.tags = tags;
    const state = lifecycle?.trim();
    if (state) identity.targetLifecycleState = state;
    if (userData !== undefined) identity.userData = userData;
    return identity;
  };

  return withDeadline(
    read(),
    deadlineMs,
    `metadata service at ${endpoint}: reading the instance identity took longer than ${deadlineMs} ms`,
  );
}

/** `work`, or a TimeoutError saying `message` once `ms` have passed. */
async function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export const DEPARTURE_PATHS = {
  targetLifecycleState: P.lifecycle,
  spotInstanceAction: "/latest/meta-data/spot/instance-action",
} as const;

export interface DepartureSignals {
  /** `autoscaling/target-lifecycle-state`; undefined when absent (404: not in a group) */
  targetLifecycleState?: string;
  /** `spot/instance-action`'s body; undefined until EC2 announces an interruption (404) */
  spotInstanceAction?: string;
}

/**
 * One poll of what tells a server it is leaving, as AWS documents it: "Retrieve the target
 * lifecycle state through instance metadata" (Amazon EC2 Auto Scaling user guide) and "Spot
 * Instance interruption notices" (Amazon EC2 user guide). Both are optional paths; the poll as a
 * whole is bounded by the session's deadline.
 */
export async function readDepartureSignals(session: MetadataSession): Promise<DepartureSignals> {
  const [state, spot] = await withDeadline(
    Promise.all([
      session.get(DEPARTURE_PATHS.targetLifecycleState, true),
      session.get(DEPARTURE_PATHS.spotInstanceAction, true),
    ]),
    session.deadlineMs,
    `metadata service at ${session.endpoint}: polling the lifecycle state took longer than ${session.deadlineMs} ms`,
  );
  const out: DepartureSignals = {};
  if (state?.trim()) out.targetLifecycleState = state.trim();
  if (spot?.trim()) out.spotInstanceAction = spot.trim();
  return out;
}
