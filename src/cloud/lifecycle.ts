/**
 * Lifecycle-hook completion and heartbeats through the Auto Scaling API, with the official
 * `AutoScalingClient` (imported lazily, so loading this module never loads the AWS SDK).
 *
 * Credentials come from the SDK's default provider chain, with or without an endpoint override
 * (a VPC interface endpoint, the local fleet): the environment (AWS_ACCESS_KEY_ID, ...), the shared
 * files, then the instance profile's temporary keys through IMDSv2, read from the same metadata
 * endpoint as the instance's identity (`metadataEndpoint`). There are no built-in keys: a request
 * AWS would refuse is refused here too. Every call has a per-attempt timeout, a bounded number of attempts and an overall deadline.
 */
import type { AutoScalingClient, AutoScalingClientConfig } from "@aws-sdk/client-auto-scaling";
import { errorMessage, InputError, RunError, TimeoutError } from "../core/errors.ts";

export type LifecycleResult = "CONTINUE" | "ABANDON";

export interface LifecycleTarget {
  /** Endpoint override (e.g. http://127.0.0.1:4566); default AWS's regional endpoint. */
  endpoint?: string;
  region: string;
  group: string;
  hook: string;
  instanceId: string;
  /** The lifecycle action token, when known (from the notification). */
  token?: string;
  /** Per HTTP attempt (connect and answer), ms. Default 3000. */
  timeoutMs?: number;
  /** Attempts in all, first included (5xx, throttling, time-outs are retried). Default 3. */
  maxAttempts?: number;
  /** Overall bound for one call with its retries, ms. Default timeoutMs * maxAttempts + 2000. */
  deadlineMs?: number;
  /** Bind outgoing sockets to this local address (a fleet sandbox's 127.77.0.N). */
  localAddress?: string;
  /** Explicit credentials; otherwise the SDK's default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * The instance metadata endpoint the chain reads the instance profile's keys from (the boot
   * config's, e.g. a fleet instance's emulator); default AWS's, or AWS_EC2_METADATA_SERVICE_ENDPOINT.
   */
  metadataEndpoint?: string;
}

export interface CompleteLifecycleOptions extends LifecycleTarget {
  result: LifecycleResult;
}

type CredentialProvider = NonNullable<AutoScalingClientConfig["credentials"]>;
let chain: CredentialProvider | undefined;

/**
 * The SDK's default chain, made once per process: it keeps the instance profile's keys until
 * shortly before they expire instead of asking the metadata service at every call. The SDK takes
 * the metadata endpoint only from AWS_EC2_METADATA_SERVICE_ENDPOINT (or the shared config file),
 * so a given endpoint is put there, for the chain to read when it asks.
 */
export async function defaultCredentials(metadataEndpoint?: string): Promise<CredentialProvider> {
  if (metadataEndpoint && process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT !== metadataEndpoint) {
    process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = metadataEndpoint;
    chain = undefined;
  }
  if (!chain) {
    const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
    chain = defaultProvider({ timeout: 1000, maxRetries: 1 });
  }
  return chain;
}

function checkTarget(
  op: string,
  t: LifecycleTarget,
): Required<Pick<LifecycleTarget, "timeoutMs" | "maxAttempts" | "deadlineMs">> {
  const problems: string[] = [];
  for (const key of ["region", "group", "hook", "instanceId"] as const) {
    if (typeof t[key] !== "string" || t[key].trim() === "") problems.push(`${op}: ${key} is required`);
  }
  if (t.token !== undefined && (typeof t.token !== "string" || t.token === "")) {
    problems.push(`${op}: token must be a non-empty string when given`);
  }
  if (t.endpoint !== undefined) {
    try {
      const u = new URL(t.endpoint);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("scheme");
    } catch {
      problems.push(`${op}: endpoint "${t.endpoint}" is not an http(s) URL`);
    }
  }
  const timeoutMs = t.timeoutMs ?? 3000;
  const maxAttempts = t.maxAttempts ?? 3;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    problems.push(`${op}: timeoutMs must be a positive integer`);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10) {
    problems.push(`${op}: maxAttempts must be an integer from 1 to 10`);
  }
  const deadlineMs = t.deadlineMs ?? timeoutMs * maxAttempts + 2000;
  if (!Number.isInteger(deadlineMs) || deadlineMs < 1)
    problems.push(`${op}: deadlineMs must be a positive integer`);
  if (problems.length) throw new InputError(problems);
  return { timeoutMs, maxAttempts, deadlineMs };
}

type Sdk = typeof import("@aws-sdk/client-auto-scaling");

async function makeClient(
  sdk: Sdk,
  t: LifecycleTarget,
  timeoutMs: number,
  maxAttempts: number,
): Promise<AutoScalingClient> {
  const agent = t.localAddress ? { localAddress: t.localAddress } : undefined;
  const config: AutoScalingClientConfig = {
    region: t.region,
    maxAttempts,
    requestHandler: {
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      throwOnRequestTimeout: true,
      ...(agent ? { httpAgent: agent, httpsAgent: agent } : {}),
    },
  };
  if (t.endpoint) config.endpoint = t.endpoint;
  config.credentials = t.credentials ?? (await defaultCredentials(t.metadataEndpoint));
  return new sdk.AutoScalingClient(config);
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number; requestId?: string };
  Code?: string;
}

/** One line for whatever the SDK threw. */
export function describeLifecycleError(
  op: string,
  t: LifecycleTarget,
  err: unknown,
  timeoutMs: number,
): RunError {
  const e = (err ?? {}) as SdkError;
  const where = `Auto Scaling at ${t.endpoint ?? `autoscaling.${t.region}.amazonaws.com`}`;
  const subject = `${op} for instance ${t.instanceId} (group "${t.group}", hook "${t.hook}")`;
  const attempts = e.$metadata?.attempts;
  const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : "";
  const message = (e.message ?? errorMessage(err)).replace(/\s+/g, " ").trim();
  const status = e.$metadata?.httpStatusCode;
  if (e.name === "AbortError") {
    return new TimeoutError(`${where} did not complete ${subject} within its deadline`, { cause: err });
  }
  // Checked before time-outs: the HTTP handler renames ECONNRESET/EPIPE errors "TimeoutError".
  if (e.code === "ECONNRESET" || e.code === "EPIPE" || /socket hang up/i.test(message)) {
    return new RunError(`${where} reset the connection for ${subject}${tries}`, { cause: err });
  }
  if (e.code === "ECONNREFUSED") {
    return new RunError(`${where} refused the connection for ${subject}${tries}`, { cause: err });
  }
  if (e.name === "TimeoutError" || e.code === "ETIMEDOUT") {
    return new TimeoutError(`${where} did not answer ${subject} within ${timeoutMs} ms${tries}`, {
      cause: err,
    });
  }
  if (e.name === "CredentialsProviderError") {
    return new RunError(
      `no AWS credentials for ${subject}: ${message} (attach an instance profile or set AWS_ACCESS_KEY_ID)`,
      {
        cause: err,
      },
    );
  }
  if (status !== undefined && e.$fault) {
    const code = e.Code ?? e.name ?? "Error";
    if (status >= 500) {
      return new RunError(`${where} failed ${subject} with HTTP ${status} ${code}: ${message}${tries}`, {
        cause: err,
      });
    }
    return new RunError(`${where} rejected ${subject}: ${code}: ${message}`, { cause: err });
  }
  return new RunError(`${where} failed ${subject}: ${message}`, { cause: err });
}

async function call(
  op: "CompleteLifecycleAction" | "RecordLifecycleActionHeartbeat",
  t: LifecycleTarget,
  result?: LifecycleResult,
) {
  const { timeoutMs, maxAttempts, deadlineMs } = checkTarget(op, t);
  if (op === "CompleteLifecycleAction" && result !== "CONTINUE" && result !== "ABANDON") {
    throw new InputError(`${op}: result must be CONTINUE or ABANDON (got ${String(result)})`);
  }
  const sdk = await import("@aws-sdk/client-auto-scaling");
  const client = await makeClient(sdk, t, timeoutMs, maxAttempts);
  const base = {
    AutoScalingGroupName: t.group,
    LifecycleHookName: t.hook,
    InstanceId: t.instanceId,
    ...(t.token ? { LifecycleActionToken: t.token } : {}),
  };
  const abortSignal = AbortSignal.timeout(deadlineMs);
  try {
    if (op === "CompleteLifecycleAction") {
      await client.send(new sdk.CompleteLifecycleActionCommand({ ...base, LifecycleActionResult: result }), {
        abortSignal,
      });
    } else {
      await client.send(new sdk.RecordLifecycleActionHeartbeatCommand(base), { abortSignal });
    }
  } catch (err) {
    throw describeLifecycleError(op, t, err, timeoutMs);
  } finally {
    client.destroy();
  }
}

/** Tell Auto Scaling the lifecycle action is done: CONTINUE (put in service) or ABANDON (replace). */
export async function completeLifecycleAction(opts: CompleteLifecycleOptions): Promise<void> {
  await call("CompleteLifecycleAction", opts, opts.result);
}

/** Extend the lifecycle action's timeout by the hook's heartbeat timeout. */
export async function recordHeartbeat(target: LifecycleTarget): Promise<void> {
  await call("RecordLifecycleActionHeartbeat", target);
}

export interface HeartbeatOptions {
  /** Called with each failed heartbeat (heartbeats go on after a failure). */
  onError?: (err: RunError) => void;
  /** Called after each successful heartbeat. */
  onBeat?: () => void;
}

/**
 * Record a heartbeat every `intervalMs` (the first after one interval; never two at once) until
 * the returned stop function is called; stop resolves once no heartbeat is in flight.
 */
export function startHeartbeats(
  target: LifecycleTarget,
  intervalMs: number,
  options: HeartbeatOptions = {},
): () => Promise<void> {
  if (!Number.isInteger(intervalMs) || intervalMs < 1) {
    throw new InputError(`startHeartbeats: intervalMs must be a positive integer (got ${intervalMs})`);
  }
  checkTarget("RecordLifecycleActionHeartbeat", target);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const quietly = (fn: () => void) => {
    try {
      fn();
    } catch {
      // A throwing callback must not stop the heartbeats.
    }
  };
  const beat = async () => {
    try {
      await recordHeartbeat(target);
      quietly(() => options.onBeat?.());
    } catch (err) {
      const runErr = err instanceof RunError ? err : new RunError(errorMessage(err), { cause: err });
      quietly(() => options.onError?.(runErr));
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = beat().finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await inFlight;
  };
}
