import { request } from "node:http";
import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from "@aws-sdk/client-auto-scaling";
import { afterEach, describe, expect, it } from "vitest";
import { InputError } from "../../core/errors.ts";
import {
  AUTOSCALING_XMLNS,
  type AutoScalingEmulator,
  type LifecycleCompletion,
  queryError,
  queryResponse,
  startAutoScalingEmulator,
  xmlEscape,
} from "./autoscaling-emulator.ts";

const AUTH =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/autoscaling/aws4_request, " +
  "SignedHeaders=content-type;host;x-amz-date, Signature=0000";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function post(
  base: string,
  body: string,
  headers: Record<string, string> = { authorization: AUTH },
): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: "POST",
        path: "/",
        agent: false,
        headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8", ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("error", reject);
    req.setTimeout(1500, () => req.destroy(new Error("test request timed out")));
    req.end(body);
  });
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
        accessKeyId: "AKIDEXAMPLE",
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

  it("requires an Authorization header (any SigV4 signature is accepted)", async () => {
    const e = await start();
    const r = await post(e.url, complete(), {});
    expect(r.status).toBe(403);
    expect(tag(r.body, "Code")).toBe("MissingAuthenticationToken");
    const bad = await post(e.url, complete(), { authorization: "Basic abc" });
    expect(bad.status).toBe(403);
    expect(tag(bad.body, "Code")).toBe("IncompleteSignature");
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
      credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
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
