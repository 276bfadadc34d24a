/**
 * The CloudWatch Logs emulator through the official SDK client (muster's own failure-log writer
 * included) and, as an independent judge, Debian's AWS CLI (botocore signs and parses itself).
 */
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FailureLogTarget, putFailureRecord } from "../../cloud/failure-log.ts";
import { awsCli, type CliKeys, haveAwsCli } from "../../test-support/aws-cli.ts";
import { defaultInstancePolicy, groupArnPattern } from "./autoscaling-auth.ts";
import type { IssuedKey } from "./credentials-issuer.ts";
import { type LogsEmulator, startLogsEmulator } from "./logs-emulator.ts";

const haveAws = haveAwsCli;
const GROUP = "/muster/fleet/web";
const INSTANCE = "i-0bbbbbbbbbbbbbbb1";

let logs: LogsEmulator;
let role: IssuedKey;
let operator: IssuedKey;

beforeAll(async () => {
  logs = await startLogsEmulator({ host: "127.0.0.1" });
  logs.ensureLogGroup(GROUP);
  const policy = defaultInstancePolicy(
    groupArnPattern("us-east-1", logs.issuer.account, "web"),
    logs.groupArn(GROUP),
  );
  role = logs.issuer.roleKeys("muster-instance", INSTANCE, policy);
  operator = logs.issuer.operatorKeys();
});

afterAll(async () => {
  await logs?.close();
});

/** muster's writer's target in the fleet's group, as the instance writes it. */
const target = (over: Partial<FailureLogTarget>): FailureLogTarget => ({
  logGroup: GROUP,
  logStream: INSTANCE,
  region: "us-east-1",
  endpoint: logs.url,
  timeoutMs: 2000,
  deadlineMs: 5000,
  ...over,
});

const client = (keys: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
  new CloudWatchLogsClient({ region: "us-east-1", endpoint: logs.url, credentials: keys, maxAttempts: 1 });

describe("the CloudWatch Logs emulator through the SDK client", () => {
  it("muster's writer makes the missing stream, puts the record, and GetLogEvents reads it back", async () => {
    await putFailureRecord(
      target({ credentials: role }),
      '{"muster":"boot-failure","stage":"fetch"}',
      Date.now(),
    );
    const c = client(operator);
    const got = await c.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: INSTANCE }));
    expect(got.events?.map((e) => e.message)).toEqual(['{"muster":"boot-failure","stage":"fetch"}']);
    const streams = await c.send(new DescribeLogStreamsCommand({ logGroupName: GROUP }));
    expect(streams.logStreams?.map((s) => s.logStreamName)).toContain(INSTANCE);
    expect(logs.calls.map((x) => [x.action, x.errorCode ?? x.status])).toEqual(
      expect.arrayContaining([
        ["PutLogEvents", "ResourceNotFoundException"],
        ["CreateLogStream", 200],
        ["PutLogEvents", 200],
      ]),
    );
    c.destroy();
  });

  it("a stream made twice: ResourceAlreadyExistsException; a missing group: ResourceNotFoundException", async () => {
    const c = client(operator);
    await c.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: "twice" }));
    await expect(
      c.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: "twice" })),
    ).rejects.toMatchObject({ name: "ResourceAlreadyExistsException" });
    await expect(
      c.send(new GetLogEventsCommand({ logGroupName: "/no/such", logStreamName: "x" })),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    c.destroy();
  });

  it("the instance role cannot write outside the fleet's log group, nor read it back", async () => {
    const c = client(role);
    logs.ensureLogGroup("/other");
    await expect(
      c.send(new CreateLogStreamCommand({ logGroupName: "/other", logStreamName: INSTANCE })),
    ).rejects.toMatchObject({ name: "AccessDeniedException" });
    await expect(
      c.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: INSTANCE })),
    ).rejects.toMatchObject({
      name: "AccessDeniedException",
      message: expect.stringContaining("logs:GetLogEvents"),
    });
    c.destroy();
  });

  it("a forged signature is refused, and muster's writer says so in one line", async () => {
    const forged = { ...operator, secretAccessKey: "forged-secret-forged-secret-forged-secre" };
    await expect(
      client(forged).send(
        new PutLogEventsCommand({
          logGroupName: GROUP,
          logStreamName: INSTANCE,
          logEvents: [{ timestamp: Date.now(), message: "x" }],
        }),
      ),
    ).rejects.toMatchObject({ name: "InvalidSignatureException" });
    await expect(putFailureRecord(target({ credentials: forged }), "x", Date.now())).rejects.toThrow(
      /refused the record for \/muster\/fleet\/web\/i-0bbbbbbbbbbbbbbb1: InvalidSignatureException/,
    );
  });

  it("a write to an endpoint that does not answer ends within its deadline", async () => {
    const started = Date.now();
    await expect(
      putFailureRecord(
        target({ endpoint: "http://127.0.0.1:9", timeoutMs: 300, deadlineMs: 1000, credentials: role }),
        "x",
        Date.now(),
      ),
    ).rejects.toThrow(/CloudWatch Logs at http:\/\/127.0.0.1:9/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

/** The AWS CLI with only these keys (test-support/aws-cli.ts). */
const aws = (keys: CliKeys, args: string[]) => awsCli("logs", logs.url, keys, args);

describe.skipIf(!haveAws)(
  haveAws
    ? "Debian's AWS CLI against the CloudWatch Logs emulator"
    : "AWS CLI judge (skipped: /usr/bin/aws is absent; apt-get install awscli)",
  () => {
    it("put-log-events with the instance role's keys, get-log-events with the operator's", async () => {
      const stream = "cli-stream";
      const made = await aws(role, [
        "create-log-stream",
        "--log-group-name",
        GROUP,
        "--log-stream-name",
        stream,
      ]);
      expect(made.stderr).toBe("");
      const put = await aws(role, [
        "put-log-events",
        "--log-group-name",
        GROUP,
        "--log-stream-name",
        stream,
        "--log-events",
        JSON.stringify([{ timestamp: Date.now(), message: "muster: boot failed at stage fetch" }]),
      ]);
      expect(put.stderr).toBe("");
      expect(JSON.parse(put.stdout).nextSequenceToken).toBeTruthy();
      const got = await aws(operator, [
        "get-log-events",
        "--log-group-name",
        GROUP,
        "--log-stream-name",
        stream,
      ]);
      expect(got.code).toBe(0);
      expect(JSON.parse(got.stdout).events.map((e: { message: string }) => e.message)).toEqual([
        "muster: boot failed at stage fetch",
      ]);
    }, 90_000);

    it("a forged signature: InvalidSignatureException; outside the policy: AccessDeniedException", async () => {
      const forged = await aws({ ...operator, secretAccessKey: "forged-secret-forged-secret-forged-secre" }, [
        "describe-log-streams",
        "--log-group-name",
        GROUP,
      ]);
      expect(forged.stderr).toContain("(InvalidSignatureException)");
      const denied = await aws(role, ["describe-log-streams", "--log-group-name", GROUP]);
      expect(denied.stderr).toContain("(AccessDeniedException)");
    }, 90_000);
  },
);
