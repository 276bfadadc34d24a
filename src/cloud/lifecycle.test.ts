import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InputError, RunError, TimeoutError } from "../core/errors.ts";
import { defaultInstancePolicy, groupArnPattern } from "../fleet/aws/autoscaling-auth.ts";
import {
  type AutoScalingEmulator,
  type LifecycleCompletion,
  type LifecycleHeartbeat,
  startAutoScalingEmulator,
} from "../fleet/aws/autoscaling-emulator.ts";
import type { IssuedKey } from "../fleet/aws/credentials-issuer.ts";
import { type MetadataEmulator, startMetadataEmulator } from "../fleet/aws/metadata-emulator.ts";
import {
  completeLifecycleAction,
  type LifecycleTarget,
  recordHeartbeat,
  startHeartbeats,
} from "./lifecycle.ts";

let emu: AutoScalingEmulator | undefined;
let meta: MetadataEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  await meta?.close();
  emu = undefined;
  meta = undefined;
});

// the chain must find nothing but what a test gives it: no keys from the environment or the
// shared files of whoever runs the tests
const SAVED = { ...process.env };
beforeAll(() => {
  for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"])
    delete process.env[k];
  process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/muster-test/credentials";
  process.env.AWS_CONFIG_FILE = "/nonexistent/muster-test/config";
});
afterAll(() => {
  process.env = SAVED;
});

const INSTANCE = "i-0123456789abcdef0";

async function start(): Promise<AutoScalingEmulator> {
  emu = await startAutoScalingEmulator({ region: "eu-west-1" });
  return emu;
}

/** The instance role's keys, allowed what muster needs on web-asg. */
const roleKeys = (e: AutoScalingEmulator): IssuedKey =>
  e.issuer.roleKeys(
    "web-role",
    INSTANCE,
    defaultInstancePolicy(groupArnPattern("eu-west-1", e.issuer.account, "web-asg")),
  );

/** A target against the emulator, signed with the instance role's keys, with short bounds. */
const target = (e: AutoScalingEmulator, extra: Partial<LifecycleTarget> = {}): LifecycleTarget => {
  const k = roleKeys(e);
  return {
    endpoint: e.url,
    region: "eu-west-1",
    group: "web-asg",
    hook: "launch",
    instanceId: INSTANCE,
    timeoutMs: 500,
    maxAttempts: 3,
    credentials: {
      accessKeyId: k.accessKeyId,
      secretAccessKey: k.secretAccessKey,
      sessionToken: k.sessionToken!,
    },
    ...extra,
  };
};

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("completeLifecycleAction (real AutoScalingClient against the emulator)", () => {
  it("sends CompleteLifecycleAction with the right params, signed with the role's keys", async () => {
    const e = await start();
    const pending = e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    const done: LifecycleCompletion[] = [];
    e.onComplete((c) => done.push(c));
    await completeLifecycleAction({ ...target(e), result: "CONTINUE" });
    expect(e.calls).toHaveLength(1);
    expect(e.calls[0]).toMatchObject({
      action: "CompleteLifecycleAction",
      status: 200,
      params: {
        AutoScalingGroupName: "web-asg",
        LifecycleHookName: "launch",
        InstanceId: INSTANCE,
        LifecycleActionResult: "CONTINUE",
      },
      accessKeyId: roleKeys(e).accessKeyId,
      principal: `arn:aws:sts::${e.issuer.account}:assumed-role/web-role/${INSTANCE}`,
      region: "eu-west-1",
    });
    expect(e.calls[0]!.params.LifecycleActionToken).toBeUndefined();
    expect(done).toEqual([
      expect.objectContaining({ instanceId: INSTANCE, token: pending.token, result: "CONTINUE", via: "api" }),
    ]);
    expect(e.pendingActions()).toEqual([]);
  });

  it("passes the token when given, and ABANDON", async () => {
    const e = await start();
    const pending = e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    await completeLifecycleAction({ ...target(e, { token: pending.token }), result: "ABANDON" });
    expect(e.calls[0]!.params).toMatchObject({
      LifecycleActionToken: pending.token,
      LifecycleActionResult: "ABANDON",
    });
  });

  it("unknown hook: the SDK's ValidationError becomes one clear RunError, not retried", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    const err = await failure(
      completeLifecycleAction({ ...target(e, { hook: "lanch" }), result: "CONTINUE" }),
    );
    expect(err).toBeInstanceOf(RunError);
    expect(err).not.toBeInstanceOf(TimeoutError);
    expect(err.message).toBe(
      `Auto Scaling at ${e.url} rejected CompleteLifecycleAction for instance ${INSTANCE} (group "web-asg", hook "lanch"): ` +
        `ValidationError: No Lifecycle Hook found with name 'lanch' for AutoScalingGroup 'web-asg'`,
    );
    expect(err.message).not.toContain("\n");
    expect((err.cause as { name?: string }).name).toBe("ValidationError");
    expect(e.calls).toHaveLength(1);
    expect(e.calls[0]).toMatchObject({ status: 400, errorCode: "ValidationError" });
  });

  it("no pending action for the instance: AWS's 'No active Lifecycle Action' message", async () => {
    const e = await start();
    e.putLifecycleHook({ group: "web-asg", hook: "launch" });
    const err = await failure(completeLifecycleAction({ ...target(e), result: "CONTINUE" }));
    expect(err.message).toContain(
      `ValidationError: No active Lifecycle Action found with instance ID ${INSTANCE}`,
    );
  });

  it("500s are retried up to maxAttempts, then a RunError with the status", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    await e.setFault({ kind: "error" });
    const err = await failure(completeLifecycleAction({ ...target(e), result: "CONTINUE" }));
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toMatch(
      /failed CompleteLifecycleAction for instance .* with HTTP 500 InternalFailure: .* after 3 attempts$/,
    );
    expect(e.calls.map((c) => c.status)).toEqual([500, 500, 500]);
    expect(e.pendingActions()).toHaveLength(1);
  });

  it("a passing fault is ridden out by the retries", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    await e.setFault({ kind: "error", status: 503, code: "ServiceUnavailable" });
    e.on("call", () => {
      if (e.calls.length === 1) void e.setFault(undefined);
    });
    await completeLifecycleAction({ ...target(e), result: "CONTINUE" });
    expect(e.calls.map((c) => c.status)).toEqual([503, 200]);
    expect(e.calls[0]!.errorCode).toBe("ServiceUnavailable");
  });

  it("down (refused): RunError within the bounds", async () => {
    const e = await start();
    await e.setFault({ kind: "down", mode: "refuse" });
    const t0 = Date.now();
    const err = await failure(
      completeLifecycleAction({ ...target(e, { maxAttempts: 2 }), result: "CONTINUE" }),
    );
    // two refused attempts and a short pause: no wait for any timeout (a generous bound)
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toContain(
      `Auto Scaling at ${e.url} refused the connection for CompleteLifecycleAction`,
    );
  });

  it("down (sockets destroyed): RunError naming a reset", async () => {
    const e = await start();
    await e.setFault({ kind: "down" });
    const err = await failure(
      completeLifecycleAction({ ...target(e, { maxAttempts: 2 }), result: "CONTINUE" }),
    );
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toContain("reset the connection for CompleteLifecycleAction");
    expect(e.calls.map((c) => c.status)).toEqual(["destroyed", "destroyed"]);
  });

  it("slow: TimeoutError after the per-attempt timeout", async () => {
    const e = await start();
    await e.setFault({ kind: "slow", delayMs: 60_000 });
    const t0 = Date.now();
    const err = await failure(
      completeLifecycleAction({ ...target(e, { timeoutMs: 150, maxAttempts: 1 }), result: "CONTINUE" }),
    );
    // the answer would come after a minute: the 150 ms timeout ended it
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toBe(
      `Auto Scaling at ${e.url} did not answer CompleteLifecycleAction for instance ${INSTANCE} (group "web-asg", hook "launch") within 150 ms`,
    );
  });

  it("the overall deadline bounds a call with its retries", async () => {
    const e = await start();
    await e.setFault({ kind: "slow", delayMs: 60_000 });
    const t0 = Date.now();
    const err = await failure(
      completeLifecycleAction({
        ...target(e, { timeoutMs: 30_000, maxAttempts: 3, deadlineMs: 200 }),
        result: "CONTINUE",
      }),
    );
    // ended by the 200 ms deadline, long before even one 30 s attempt timeout
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toContain("within its deadline");
  });

  it("binds to a given local address (a fleet sandbox's 127.77.0.N)", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    await completeLifecycleAction({ ...target(e, { localAddress: "127.77.0.9" }), result: "CONTINUE" });
    expect(e.calls[0]!.remoteAddress).toBe("127.77.0.9");
  });

  it("rejects bad input with InputError before any call", async () => {
    const e = await start();
    await expect(
      completeLifecycleAction({ ...target(e, { group: "" }), result: "CONTINUE" }),
    ).rejects.toThrow(InputError);
    await expect(
      completeLifecycleAction({ ...target(e), result: "MAYBE" as unknown as "CONTINUE" }),
    ).rejects.toThrow(/result must be CONTINUE or ABANDON/);
    await expect(recordHeartbeat(target(e, { endpoint: "nope" }))).rejects.toThrow(InputError);
    await expect(recordHeartbeat(target(e, { maxAttempts: 0 }))).rejects.toThrow(InputError);
    expect(e.calls).toEqual([]);
  });
});

describe("heartbeats", () => {
  it("recordHeartbeat extends the action and is reported", async () => {
    const e = await start();
    e.putLifecycleHook({ group: "web-asg", hook: "launch", heartbeatTimeoutMs: 60_000 });
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    const beats: LifecycleHeartbeat[] = [];
    e.on("heartbeat", (h) => beats.push(h));
    await recordHeartbeat(target(e));
    expect(e.calls[0]).toMatchObject({
      action: "RecordLifecycleActionHeartbeat",
      params: { AutoScalingGroupName: "web-asg", LifecycleHookName: "launch", InstanceId: INSTANCE },
    });
    expect(beats).toHaveLength(1);
    expect(e.pendingActions()[0]!.heartbeats).toBe(1);
  });

  it("startHeartbeats beats every interval until stopped", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    let beats = 0;
    const stop = startHeartbeats(target(e), 40, { onBeat: () => beats++ });
    await new Promise((r) => setTimeout(r, 230));
    await stop();
    const after = e.calls.length;
    expect(beats).toBeGreaterThanOrEqual(3);
    expect(after).toBe(beats);
    await new Promise((r) => setTimeout(r, 100));
    expect(e.calls.length).toBe(after);
  });

  it("startHeartbeats reports failures and keeps going", async () => {
    const e = await start();
    e.putLifecycleHook({ group: "web-asg", hook: "launch" });
    const errors: RunError[] = [];
    const stop = startHeartbeats(target(e, { maxAttempts: 1 }), 30, { onError: (err) => errors.push(err) });
    await new Promise((r) => setTimeout(r, 150));
    await stop();
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toBeInstanceOf(RunError);
    expect(errors[0]!.message).toContain("No active Lifecycle Action found");
  });

  it("startHeartbeats rejects a bad interval", async () => {
    const e = await start();
    expect(() => startHeartbeats(target(e), 0)).toThrow(InputError);
  });
});

describe("credentials", () => {
  it("without explicit keys: the instance profile's keys from the metadata endpoint (IMDSv2)", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    meta = await startMetadataEmulator({
      instances: [{ instanceId: INSTANCE, iam: { roleName: "web-role", credentials: () => roleKeys(e) } }],
    });
    const { credentials: _none, ...chained } = target(e, { metadataEndpoint: meta.url });
    await completeLifecycleAction({ ...chained, result: "CONTINUE" });
    expect(e.calls[0]).toMatchObject({ status: 200, accessKeyId: roleKeys(e).accessKeyId });
    // through a session token, never IMDSv1
    expect(meta.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(
      expect.arrayContaining([
        "PUT /latest/api/token 200",
        "GET /latest/meta-data/iam/security-credentials/ 200",
        "GET /latest/meta-data/iam/security-credentials/web-role 200",
      ]),
    );
  });

  it("no keys anywhere (no instance profile): refused with a clear line, no built-in keys sent", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    meta = await startMetadataEmulator({ instances: [{ instanceId: INSTANCE }] });
    const { credentials: _none, ...chained } = target(e, { metadataEndpoint: meta.url });
    const err = await failure(completeLifecycleAction({ ...chained, result: "CONTINUE" }));
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toMatch(/no AWS credentials for CompleteLifecycleAction/);
    expect(e.calls).toEqual([]);
    expect(e.pendingActions()).toHaveLength(1);
  });

  it("keys the emulator never issued: InvalidClientTokenId, the action stays pending", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    const err = await failure(
      completeLifecycleAction({
        ...target(e, {
          credentials: { accessKeyId: "MUSTERLOCALKEY", secretAccessKey: "muster-local-secret" },
        }),
        result: "CONTINUE",
      }),
    );
    expect(err.message).toContain("InvalidClientTokenId");
    expect(e.pendingActions()).toHaveLength(1);
  });

  it("a role whose policy lacks CompleteLifecycleAction: AccessDenied named in the error", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: INSTANCE });
    const k = e.issuer.roleKeys("narrow-role", INSTANCE, {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "autoscaling:RecordLifecycleActionHeartbeat", Resource: "*" }],
    });
    const err = await failure(
      completeLifecycleAction({
        ...target(e, {
          credentials: {
            accessKeyId: k.accessKeyId,
            secretAccessKey: k.secretAccessKey,
            sessionToken: k.sessionToken!,
          },
        }),
        result: "CONTINUE",
      }),
    );
    expect(err.message).toContain("AccessDenied");
    expect(err.message).toContain(
      `is not authorized to perform: autoscaling:CompleteLifecycleAction on resource: arn:aws:autoscaling:eu-west-1:${e.issuer.account}:autoScalingGroup:`,
    );
    expect(e.pendingActions()).toHaveLength(1);
  });

  it("imports the AWS SDK only lazily (type-only at the top)", () => {
    const src = readFileSync(new URL("./lifecycle.ts", import.meta.url), "utf8");
    expect(src.split("\n").filter((l) => /^import\s+(?!type\b).*@aws-sdk/.test(l))).toEqual([]);
  });
});
