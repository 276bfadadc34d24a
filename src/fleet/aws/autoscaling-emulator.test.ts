import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from "@aws-sdk/client-auto-scaling";
import { afterEach, describe, expect, it } from "vitest";
import { InputError } from "../../core/errors.ts";
import { type Answer, httpAnswer } from "../../test-support/http-answer.ts";
import { signedFormHeaders } from "../../test-support/sigv4-sign.ts";
import {
  AUTOSCALING_XMLNS,
  type AutoScalingEmulator,
  type LifecycleCompletion,
  queryError,
  queryResponse,
  startAutoScalingEmulator,
  xmlEscape,
} from "./autoscaling-emulator.ts";
import type { IssuedKey } from "./credentials-issuer.ts";

/** Operator keys of the running emulator, made once for it. */
const operators = new WeakMap<AutoScalingEmulator, IssuedKey>();
function operatorKeys(e: AutoScalingEmulator): IssuedKey {
  let k = operators.get(e);
  if (!k) {
    k = e.issuer.operatorKeys();
    operators.set(e, k);
  }
  return k;
}

/** POST a form, signed with the running emulator's operator keys unless `headers` are given. */
async function post(base: string, body: string, given?: Record<string, string>): Promise<Answer> {
  const u = new URL(base);
  const headers = given ?? (await signedFormHeaders(base, body, operatorKeys(emu!)));
  return httpAnswer(
    {
      host: u.hostname,
      port: u.port,
      method: "POST",
      path: "/",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8", ...headers },
    },
    body,
  );
}

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
const complete = (extra: Record<string, string> = {}) =>
  form({
    Action: "CompleteLifecycleAction",
    Version: "2011-01-01",
    AutoScalingGroupName: "web-asg",
    LifecycleHookName: "launch",
    LifecycleActionResult: "CONTINUE",
    InstanceId: "i-1",
    ...extra,
  });

/** The text of the first <tag> in an XML document. */
const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

let emu: AutoScalingEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function start(): Promise<AutoScalingEmulator> {
  emu = await startAutoScalingEmulator({ hooks: [{ group: "web-asg", hook: "launch" }] });
  return emu;
}

describe("XML documents", () => {
  it("shapes a success like AWS", () => {
    expect(queryResponse("CompleteLifecycleAction", undefined, "rid-1")).toBe(
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
        `<CompleteLifecycleActionResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">\n` +
        `  <CompleteLifecycleActionResult/>\n` +
        `  <ResponseMetadata>\n    <RequestId>rid-1</RequestId>\n  </ResponseMetadata>\n` +
        `</CompleteLifecycleActionResponse>\n`,
    );
  });

  it("shapes an error like AWS, escaping the message", () => {
    const xml = queryError("Sender", "ValidationError", "bad <thing> & 'more'", "rid-2");
    expect(xml).toContain(`<ErrorResponse xmlns="${AUTOSCALING_XMLNS}">`);
    expect(xml).toContain(
      "<Error>\n    <Type>Sender</Type>\n    <Code>ValidationError</Code>\n    <Message>bad &lt;thing&gt; &amp; 'more'</Message>\n  </Error>",
    );
    expect(xml).toContain("<RequestId>rid-2</RequestId>\n</ErrorResponse>");
    expect(xmlEscape('a"b')).toBe('a"b');
  });
});

describe("the query protocol over HTTP", () => {
  it("completes a pending action: 200, AWS-shaped XML, request id header, recorded call, event", async () => {
    const e = await start();
    const pending = e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: "i-1" });
    const seen: LifecycleCompletion[] = [];
    e.onComplete((c) => seen.push(c));
    const r = await post(e.url, complete());
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/xml");
    expect(r.body).toContain(`<CompleteLifecycleActionResponse xmlns="${AUTOSCALING_XMLNS}">`);
    expect(r.body).toContain("<CompleteLifecycleActionResult/>");
    expect(tag(r.body, "RequestId")).toBe(r.headers["x-amzn-requestid"]);
    expect(e.calls).toEqual([
      expect.objectContaining({
        action: "CompleteLifecycleAction",
        params: {
          AutoScalingGroupName: "web-asg",
          LifecycleHookName: "launch",
          LifecycleActionResult: "CONTINUE",
          InstanceId: "i-1",
        },
        status: 200,
        accessKeyId: operatorKeys(e).accessKeyId,
        principal: `arn:aws:iam::${e.issuer.account}:user/muster-fleet-operator`,
        region: "us-east-1",
        remoteAddress: "127.0.0.1",
      }),
    ]);
    expect(seen).toEqual([expect.objectContaining({ token: pending.token, result: "CONTINUE", via: "api" })]);
    // Completed: a second completion finds nothing.
    const again = await post(e.url, complete());
    expect(again.status).toBe(400);
    expect(tag(again.body, "Message")).toBe("No active Lifecycle Action found with instance ID i-1");
  });

  it("matches by token as well", async () => {
    const e = await start();
    const p = e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: "i-1", token: "tok-1" });
    expect(p.token).toBe("tok-1");
    const wrong = await post(e.url, complete({ LifecycleActionToken: "tok-2" }));
    expect(tag(wrong.body, "Message")).toBe("No active Lifecycle Action found with token tok-2");
    const r = await post(e.url, complete({ LifecycleActionToken: "tok-1", InstanceId: "" }));
    expect(r.status).toBe(200);
  });

  it("refuses unsigned, malformed, forged and unknown-key requests as AWS does (403, nothing done)", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: "i-1" });
    const refused = async (headers: Record<string, string>) => {
      const r = await post(e.url, complete(), headers);
      expect(r.status).toBe(403);
      expect(r.body).toContain(`<ErrorResponse xmlns="${AUTOSCALING_XMLNS}">`);
      expect(tag(r.body, "Type")).toBe("Sender");
      return { code: tag(r.body, "Code"), message: tag(r.body, "Message") };
    };
    expect((await refused({})).code).toBe("MissingAuthenticationToken");
    expect((await refused({ authorization: "Basic abc" })).code).toBe("IncompleteSignature");
    // the forgery that used to pass: an unknown key, dated 2000, a made-up signature
    const forged = {
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20000101/us-east-1/autoscaling/aws4_request, SignedHeaders=host, Signature=deadbeef",
    };
    expect(await refused(forged)).toEqual({
      code: "InvalidClientTokenId",
      message: "The security token included in the request is invalid.",
    });
    // a real key, a signature made with the wrong secret
    const k = operatorKeys(e);
    const wrong = await signedFormHeaders(e.url, complete(), { ...k, secretAccessKey: "not-the-secret" });
    expect((await refused(wrong)).code).toBe("SignatureDoesNotMatch");
    // a correct signature over another body (the action changed after signing)
    const other = await signedFormHeaders(e.url, complete({ LifecycleActionResult: "ABANDON" }), k);
    expect((await refused(other)).code).toBe("SignatureDoesNotMatch");
    // correctly signed, 16 minutes ago
    const old = await signedFormHeaders(e.url, complete(), k, { date: new Date(Date.now() - 16 * 60_000) });
    expect((await refused(old)).message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    // signed for another region
    const region = await signedFormHeaders(e.url, complete(), k, { region: "eu-west-1" });
    expect((await refused(region)).message).toContain("Credential should be scoped to a valid region");
    expect(e.pendingActions()).toHaveLength(1);
    expect(e.calls.every((c) => c.status === 403)).toBe(true);
  });

  it("temporary keys: the session token is required and must be current", async () => {
    let clock = Date.now();
    emu = await startAutoScalingEmulator({ hooks: [{ group: "web-asg", hook: "launch" }], now: () => clock });
    const e = emu;
    const k = e.issuer.roleKeys("r", "i-1", { Statement: { Effect: "Allow", Action: "*", Resource: "*" } });
    const body = form({ Action: "DescribeAutoScalingInstances", Version: "2011-01-01" });
    const noToken = await signedFormHeaders(e.url, body, {
      accessKeyId: k.accessKeyId,
      secretAccessKey: k.secretAccessKey,
    });
    expect(tag((await post(e.url, body, noToken)).body, "Code")).toBe("InvalidClientTokenId");
    const good = await signedFormHeaders(e.url, body, k);
    expect((await post(e.url, body, good)).status).toBe(200);
    clock = k.expiresAt! + 1000;
    const late = await signedFormHeaders(e.url, body, k, { date: new Date(clock) });
    const r = await post(e.url, body, late);
    expect(r.status).toBe(403);
    expect(tag(r.body, "Code")).toBe("ExpiredToken");
  });

  it.each([
    [
      { LifecycleHookName: "" },
      "1 validation error detected: Value null at 'lifecycleHookName' failed to satisfy constraint: Member must not be null",
    ],
    [
      { LifecycleHookName: "", AutoScalingGroupName: "" },
      "2 validation errors detected: Value null at 'lifecycleHookName' failed to satisfy constraint: Member must not be null; Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null",
    ],
    [
      { LifecycleActionResult: "MAYBE" },
      'Invalid LifecycleActionResult "MAYBE": must be CONTINUE or ABANDON',
    ],
    [{ InstanceId: "" }, "Either LifecycleActionToken or InstanceId must be specified"],
    [{ AutoScalingGroupName: "nope" }, "AutoScalingGroup name not found - AutoScalingGroup 'nope' not found"],
    [
      { LifecycleHookName: "nope" },
      "No Lifecycle Hook found with name 'nope' for AutoScalingGroup 'web-asg'",
    ],
    [{ InstanceId: "i-9" }, "No active Lifecycle Action found with instance ID i-9"],
  ])("answers ValidationError (Sender, 400) for %j", async (change, message) => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: "i-1" });
    const r = await post(e.url, complete(change));
    expect(r.status).toBe(400);
    expect(tag(r.body, "Type")).toBe("Sender");
    expect(tag(r.body, "Code")).toBe("ValidationError");
    expect(tag(r.body, "Message")).toBe(message);
    expect(e.calls[0]!.errorCode).toBe("ValidationError");
    expect(e.pendingActions()).toHaveLength(1);
  });

  it("answers InvalidAction for unknown actions and versions, MissingAction without one", async () => {
    const e = await start();
    const unknown = await post(e.url, form({ Action: "TerminateEverything", Version: "2011-01-01" }));
    expect([unknown.status, tag(unknown.body, "Code")]).toEqual([400, "InvalidAction"]);
    const version = await post(e.url, form({ Action: "CompleteLifecycleAction", Version: "2099-01-01" }));
    expect(tag(version.body, "Message")).toBe(
      "Could not find operation CompleteLifecycleAction for version 2099-01-01",
    );
    const none = await post(e.url, "");
    expect(tag(none.body, "Code")).toBe("MissingAction");
  });

  it("heartbeats push the timeout back; when it runs out the default result applies", async () => {
    const e = await start();
    e.putLifecycleHook({
      group: "web-asg",
      hook: "launch",
      heartbeatTimeoutMs: 120,
      defaultResult: "ABANDON",
    });
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: "i-1" });
    const ended = new Promise<LifecycleCompletion>((resolve) => e.once("complete", resolve));
    await new Promise((r) => setTimeout(r, 80));
    const hb = await post(
      e.url,
      form({
        Action: "RecordLifecycleActionHeartbeat",
        Version: "2011-01-01",
        AutoScalingGroupName: "web-asg",
        LifecycleHookName: "launch",
        InstanceId: "i-1",
      }),
    );
    expect(hb.status).toBe(200);
    expect(hb.body).toContain("<RecordLifecycleActionHeartbeatResult/>");
    const t0 = Date.now();
    const c = await ended;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(c).toMatchObject({ instanceId: "i-1", result: "ABANDON", via: "timeout" });
    expect(e.pendingActions()).toEqual([]);
  });

  it("rejects a second wait of the same instance on the same hook", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: "i-1" });
    expect(() => e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: "i-1" })).toThrow(
      InputError,
    );
  });
});

describe("faults", () => {
  it("error: 500 InternalFailure (Receiver), limited to one action if asked", async () => {
    const e = await start();
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: "i-1" });
    await e.setFault({ kind: "error", action: "CompleteLifecycleAction" });
    const r = await post(e.url, complete());
    expect([r.status, tag(r.body, "Type"), tag(r.body, "Code")]).toEqual([
      500,
      "Receiver",
      "InternalFailure",
    ]);
    const d = await post(e.url, form({ Action: "DescribeAutoScalingInstances", Version: "2011-01-01" }));
    expect(d.status).toBe(200);
    expect(e.pendingActions()).toHaveLength(1);
  });

  it("throttle: 400 Throttling", async () => {
    const e = await start();
    await e.setFault({ kind: "throttle" });
    const r = await post(e.url, complete());
    expect([r.status, tag(r.body, "Code"), tag(r.body, "Message")]).toEqual([
      400,
      "Throttling",
      "Rate exceeded",
    ]);
  });

  it("down: destroyed sockets, or refused connections until cleared", async () => {
    const e = await start();
    await e.setFault({ kind: "down" });
    await expect(post(e.url, complete())).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(e.calls.at(-1)?.status).toBe("destroyed");
    await e.setFault({ kind: "down", mode: "refuse" });
    await expect(post(e.url, complete())).rejects.toThrow(/ECONNREFUSED/);
    await e.setFault(undefined);
    expect((await post(e.url, complete())).status).toBe(400);
  });

  it("slow: answers after the delay", async () => {
    const e = await start();
    await e.setFault({ kind: "slow", delayMs: 120 });
    const t0 = Date.now();
    await post(e.url, complete());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
  });
});

describe("DescribeAutoScalingInstances (real AutoScalingClient)", () => {
  it("reports registered instances, lifecycle states following the hook, with paging", async () => {
    emu = await startAutoScalingEmulator({
      host: "127.0.0.8",
      instances: [
        { instanceId: "i-1", group: "web-asg", lifecycleState: "Pending" },
        { instanceId: "i-2", group: "web-asg", availabilityZone: "us-east-1b", healthStatus: "UNHEALTHY" },
        {
          instanceId: "i-3",
          group: "db-asg",
          protectedFromScaleIn: true,
          launchTemplate: { id: "lt-1", name: "db", version: "3" },
        },
      ],
    });
    const e = emu;
    e.startLifecycleAction({ group: "web-asg", hook: "launch", instanceId: "i-1" });
    const client = new AutoScalingClient({
      endpoint: e.url,
      region: "us-east-1",
      credentials: operatorKeys(e),
      maxAttempts: 1,
    });
    try {
      const one = await client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ["i-1", "i-3"] }));
      expect(one.AutoScalingInstances).toEqual([
        expect.objectContaining({
          InstanceId: "i-1",
          AutoScalingGroupName: "web-asg",
          LifecycleState: "Pending:Wait",
          HealthStatus: "HEALTHY",
          ProtectedFromScaleIn: false,
        }),
        expect.objectContaining({
          InstanceId: "i-3",
          ProtectedFromScaleIn: true,
          LaunchTemplate: { LaunchTemplateId: "lt-1", LaunchTemplateName: "db", Version: "3" },
        }),
      ]);
      expect(e.calls[0]!.params).toEqual({ "InstanceIds.member.1": "i-1", "InstanceIds.member.2": "i-3" });
      const page1 = await client.send(new DescribeAutoScalingInstancesCommand({ MaxRecords: 2 }));
      expect(page1.AutoScalingInstances?.map((i) => i.InstanceId)).toEqual(["i-1", "i-2"]);
      expect(page1.NextToken).toBeTruthy();
      const page2 = await client.send(
        new DescribeAutoScalingInstancesCommand({ MaxRecords: 2, NextToken: page1.NextToken }),
      );
      expect(page2.AutoScalingInstances?.map((i) => i.InstanceId)).toEqual(["i-3"]);
      expect(page2.NextToken).toBeUndefined();
      const token = e.pendingActions()[0]!.token;
      await post(e.url, complete({ LifecycleActionToken: token }));
      const after = await client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ["i-1"] }));
      expect(after.AutoScalingInstances?.[0]?.LifecycleState).toBe("Pending:Proceed");
    } finally {
      client.destroy();
    }
  });
});
