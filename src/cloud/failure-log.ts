/**
 * A failed boot's record to CloudWatch Logs, with the official `CloudWatchLogsClient` (imported
 * lazily: loading this module never loads the AWS SDK): PutLogEvents to the log group and
 * stream, and CreateLogStream first when the stream is missing (ResourceNotFoundException), as
 * the CloudWatch Logs API Reference describes
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html).
 *
 * Credentials come from the SDK's default chain as the lifecycle client's do (lifecycle.ts: the
 * environment, the shared files, the instance profile through IMDSv2; no built-in keys). Every
 * call is bounded (per attempt and overall): the record is written on the way to ABANDON, which
 * must not wait on it.
 */
import type { CloudWatchLogsClient, CloudWatchLogsClientConfig } from "@aws-sdk/client-cloudwatch-logs";
import { errorMessage, RunError } from "../core/errors.ts";
import { defaultCredentials } from "./lifecycle.ts";

export interface FailureLogTarget {
  logGroup: string;
  logStream: string;
  region: string;
  /** endpoint override (a VPC interface endpoint, the local fleet's emulator) */
  endpoint?: string;
  metadataEndpoint?: string;
  /** per HTTP attempt, ms */
  timeoutMs: number;
  /** the whole write, retries and the stream's creation included, ms */
  deadlineMs: number;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** One line for whatever the SDK threw. */
export function describeLogsError(t: FailureLogTarget, err: unknown): string {
  const e = (err ?? {}) as SdkError;
  const where = `CloudWatch Logs at ${t.endpoint ?? `logs.${t.region}.amazonaws.com`}`;
  const msg = (e.message ?? errorMessage(err)).replace(/\s+/g, " ").trim();
  if (e.name === "AbortError") return `${where} did not take the record within ${t.deadlineMs} ms`;
  const status = e.$metadata?.httpStatusCode;
  return `${where} refused the record for ${t.logGroup}/${t.logStream}: ${e.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${msg}`;
}

/** Put one event (the record's JSON) in the stream, making the stream when it is missing. */
export async function putFailureRecord(t: FailureLogTarget, message: string, time: number): Promise<void> {
  const sdk = await import("@aws-sdk/client-cloudwatch-logs");
  const config: CloudWatchLogsClientConfig = {
    region: t.region,
    maxAttempts: 2,
    requestHandler: {
      connectionTimeout: t.timeoutMs,
      requestTimeout: t.timeoutMs,
      throwOnRequestTimeout: true,
    },
    credentials: t.credentials ?? (await defaultCredentials(t.metadataEndpoint)),
  };
  if (t.endpoint) config.endpoint = t.endpoint;
  const client: CloudWatchLogsClient = new sdk.CloudWatchLogsClient(config);
  const abortSignal = AbortSignal.timeout(t.deadlineMs);
  const put = () =>
    client.send(
      new sdk.PutLogEventsCommand({
        logGroupName: t.logGroup,
        logStreamName: t.logStream,
        logEvents: [{ timestamp: time, message }],
      }),
      { abortSignal },
    );
  try {
    try {
      await put();
    } catch (err) {
      if ((err as SdkError).name !== "ResourceNotFoundException") throw err;
      try {
        await client.send(
          new sdk.CreateLogStreamCommand({ logGroupName: t.logGroup, logStreamName: t.logStream }),
          { abortSignal },
        );
      } catch (e) {
        // another writer made it meanwhile
        if ((e as SdkError).name !== "ResourceAlreadyExistsException") throw e;
      }
      await put();
    }
  } catch (err) {
    throw new RunError(describeLogsError(t, err), { cause: err });
  } finally {
    client.destroy();
  }
}
