/**
 * The slice of CloudWatch Logs the fleet needs, over its real wire protocol, so the official
 * `CloudWatchLogsClient` (and the AWS CLI) runs against it unchanged but for the endpoint: the
 * failed boots' records land here and outlive the instances.
 *
 * Protocol, after the CloudWatch Logs API Reference ("Making API requests", and each action's
 * page, https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/): AWS JSON 1.1, a
 * POST to / with `X-Amz-Target: Logs_20140328.<Action>` and `Content-Type:
 * application/x-amz-json-1.1`, a JSON body in and out; an error is HTTP 400 (500 for the
 * service's own) with `{"__type": "<Code>", "message": "..."}`.
 *
 * Actions: CreateLogGroup, CreateLogStream, PutLogEvents, GetLogEvents, DescribeLogStreams.
 * Every request is signed (SigV4, service "logs") with keys the fleet issued and allowed by the
 * signer's policy (autoscaling-auth.ts), as the Auto Scaling emulator checks them. Resources
 * after "Actions, resources, and condition keys for Amazon CloudWatch Logs": a log group's ARN
 * `arn:aws:logs:REGION:ACCOUNT:log-group:NAME` for CreateLogGroup, CreateLogStream,
 * DescribeLogStreams and GetLogEvents; the stream's `...:log-group:NAME:log-stream:STREAM` for
 * PutLogEvents.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { listenOn } from "../../host/listen.ts";
import { authenticateRequest, authorizeAction, logGroupArn } from "./autoscaling-auth.ts";
import { CredentialsIssuer } from "./credentials-issuer.ts";

export const LOGS_TARGET_PREFIX = "Logs_20140328.";
const JSON_TYPE = "application/x-amz-json-1.1";
/** PutLogEvents' batch limit: 1,048,576 bytes. */
const MAX_BODY = 1024 * 1024 + 64 * 1024;
/** A log event's message: at most 256 KB (1 MB per batch). */
const MAX_EVENT_BYTES = 256 * 1024;
/** Events kept per stream (the oldest go). */
const MAX_EVENTS_PER_STREAM = 10_000;

export interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

interface Stream {
  name: string;
  creationTime: number;
  events: LogEvent[];
  sequence: number;
}

interface Group {
  name: string;
  creationTime: number;
  streams: Map<string, Stream>;
}

export interface LogsCall {
  time: number;
  action: string;
  status: number;
  errorCode?: string;
  principal?: string;
  logGroupName?: string;
  logStreamName?: string;
}

export interface LogsEmulatorOptions {
  host?: string;
  port?: number;
  issuer?: CredentialsIssuer;
  region?: string;
  now?: () => number;
}

class LogsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The JSON-protocol names of the signature checker's refusals (which carry the query protocol's). */
const JSON_AUTH_CODES: Record<string, string> = {
  MissingAuthenticationToken: "MissingAuthenticationTokenException",
  IncompleteSignature: "IncompleteSignatureException",
  InvalidClientTokenId: "UnrecognizedClientException",
  SignatureDoesNotMatch: "InvalidSignatureException",
  ExpiredToken: "ExpiredTokenException",
  AccessDenied: "AccessDeniedException",
};

type Body = Record<string, unknown>;

function requireString(body: Body, key: string): string {
  const v = body[key];
  if (typeof v !== "string" || v === "")
    throw new LogsError(
      "InvalidParameterException",
      `1 validation error detected: Value at '${key}' failed to satisfy constraint: Member must not be null`,
    );
  return v;
}

export class LogsEmulator extends EventEmitter<{
  put: [{ logGroupName: string; logStreamName: string; events: LogEvent[] }];
}> {
  readonly calls: LogsCall[] = [];
  readonly host: string;
  readonly issuer: CredentialsIssuer;
  readonly region: string;
  private readonly server: Server;
  private readonly now: () => number;
  private readonly groups = new Map<string, Group>();
  private boundPort = 0;

  private constructor(opts: LogsEmulatorOptions) {
    super();
    this.host = opts.host ?? "127.0.0.1";
    this.now = opts.now ?? Date.now;
    this.issuer = opts.issuer ?? new CredentialsIssuer({ now: this.now });
    this.region = opts.region ?? "us-east-1";
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 1000;
  }

  static async start(opts: LogsEmulatorOptions = {}): Promise<LogsEmulator> {
    const emu = new LogsEmulator(opts);
    emu.boundPort = await listenOn(emu.server, emu.host, opts.port ?? 0, "CloudWatch Logs emulator");
    return emu;
  }

  get url(): string {
    return `http://${this.host}:${this.boundPort}`;
  }

  groupArn(name: string): string {
    return logGroupArn(this.region, this.issuer.account, name);
  }

  /** Make a log group (the fleet's own, at start); nothing when it exists. */
  ensureLogGroup(name: string): void {
    if (!this.groups.has(name)) this.groups.set(name, { name, creationTime: this.now(), streams: new Map() });
  }

  /** The events of a stream, oldest first ([] when there is none). */
  events(logGroupName: string, logStreamName: string): LogEvent[] {
    return [...(this.groups.get(logGroupName)?.streams.get(logStreamName)?.events ?? [])];
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- internals ----

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on("error", () => req.socket.destroy());
    req.on(
      "end",
      () => void this.dispatch(req, res, Buffer.concat(chunks).toString("utf8"), size > MAX_BODY),
    );
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    text: string,
    tooBig: boolean,
  ): Promise<void> {
    const target = String(req.headers["x-amz-target"] ?? "");
    const action = target.startsWith(LOGS_TARGET_PREFIX) ? target.slice(LOGS_TARGET_PREFIX.length) : "";
    const call: LogsCall = { time: this.now(), action, status: 0 };
    const requestId = randomUUID();
    const send = (status: number, body: unknown) => {
      call.status = status;
      this.calls.push(call);
      const out = JSON.stringify(body);
      res.writeHead(status, {
        "content-type": JSON_TYPE,
        "content-length": String(Buffer.byteLength(out)),
        "x-amzn-requestid": requestId,
      });
      res.end(out);
    };
    try {
      if (tooBig) throw new LogsError("InvalidParameterException", "Request body is too large", 413);
      if (req.method !== "POST")
        throw new LogsError("UnknownOperationException", `Method ${req.method} is not allowed`);
      const signer = await authenticateRequest(
        { method: req.method, url: req.url ?? "/", headers: req.headers, body: text },
        this.issuer,
        "logs",
        this.region,
        this.now(),
      );
      if (!signer.ok) throw new LogsError(JSON_AUTH_CODES[signer.code] ?? signer.code, signer.message);
      call.principal = signer.principal.arn;
      if (!action)
        throw new LogsError(
          "UnknownOperationException",
          `Unknown operation ${target || "(no X-Amz-Target)"}`,
        );
      if (!String(req.headers["content-type"] ?? "").startsWith(JSON_TYPE))
        throw new LogsError("SerializationException", `Content-Type must be ${JSON_TYPE}`);
      let body: Body;
      try {
        body = (text ? JSON.parse(text) : {}) as Body;
      } catch {
        throw new LogsError("SerializationException", "The request body is not valid JSON");
      }
      if (body === null || typeof body !== "object" || Array.isArray(body))
        throw new LogsError("SerializationException", "The request body must be a JSON object");
      call.logGroupName = typeof body.logGroupName === "string" ? body.logGroupName : undefined;
      call.logStreamName = typeof body.logStreamName === "string" ? body.logStreamName : undefined;
      const resource = this.resourceFor(action, body);
      const denied = authorizeAction(signer.principal, `logs:${action}`, resource);
      if (denied) throw new LogsError(JSON_AUTH_CODES.AccessDenied!, denied.message);
      send(200, this.perform(action, body));
    } catch (err) {
      const e =
        err instanceof LogsError
          ? err
          : new LogsError(
              "ServiceUnavailableException",
              err instanceof Error ? err.message : String(err),
              500,
            );
      call.errorCode = e.code;
      send(e.status, { __type: e.code, message: e.message });
    }
  }

  private resourceFor(action: string, body: Body): string {
    const group = typeof body.logGroupName === "string" ? body.logGroupName : "*";
    if (action === "PutLogEvents")
      return `${this.groupArn(group)}:log-stream:${typeof body.logStreamName === "string" ? body.logStreamName : "*"}`;
    return this.groupArn(group);
  }

  private group(name: string): Group {
    const g = this.groups.get(name);
    if (!g) throw new LogsError("ResourceNotFoundException", "The specified log group does not exist.");
    return g;
  }

  private stream(body: Body): Stream {
    const g = this.group(requireString(body, "logGroupName"));
    const s = g.streams.get(requireString(body, "logStreamName"));
    if (!s) throw new LogsError("ResourceNotFoundException", "The specified log stream does not exist.");
    return s;
  }

  private perform(action: string, body: Body): Body {
    switch (action) {
      case "CreateLogGroup": {
        const name = requireString(body, "logGroupName");
        if (this.groups.has(name))
          throw new LogsError("ResourceAlreadyExistsException", "The specified log group already exists");
        this.ensureLogGroup(name);
        return {};
      }
      case "CreateLogStream": {
        const g = this.group(requireString(body, "logGroupName"));
        const name = requireString(body, "logStreamName");
        if (/[:*]/.test(name))
          throw new LogsError("InvalidParameterException", "Log stream names cannot contain ':' or '*'");
        if (g.streams.has(name))
          throw new LogsError("ResourceAlreadyExistsException", "The specified log stream already exists");
        g.streams.set(name, { name, creationTime: this.now(), events: [], sequence: 0 });
        return {};
      }
      case "PutLogEvents":
        return this.putLogEvents(body);
      case "GetLogEvents": {
        const s = this.stream(body);
        const limit =
          typeof body.limit === "number" && body.limit > 0 ? Math.min(body.limit, 10_000) : 10_000;
        const events = body.startFromHead === true ? s.events.slice(0, limit) : s.events.slice(-limit);
        return {
          events,
          nextForwardToken: `f/${String(s.events.length).padStart(56, "0")}`,
          nextBackwardToken: `b/${String(0).padStart(56, "0")}`,
        };
      }
      case "DescribeLogStreams": {
        const g = this.group(requireString(body, "logGroupName"));
        const prefix = typeof body.logStreamNamePrefix === "string" ? body.logStreamNamePrefix : "";
        const logStreams = [...g.streams.values()]
          .filter((s) => s.name.startsWith(prefix))
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((s) => ({
            logStreamName: s.name,
            creationTime: s.creationTime,
            arn: `${this.groupArn(g.name)}:log-stream:${s.name}`,
            storedBytes: 0,
            ...(s.events.length
              ? {
                  firstEventTimestamp: s.events[0]!.timestamp,
                  lastEventTimestamp: s.events.at(-1)!.timestamp,
                  lastIngestionTime: s.events.at(-1)!.ingestionTime,
                }
              : {}),
          }));
        return { logStreams };
      }
      default:
        throw new LogsError("UnknownOperationException", `Unknown operation ${action}`);
    }
  }

  private putLogEvents(body: Body): Body {
    const s = this.stream(body);
    const raw = body.logEvents;
    if (!Array.isArray(raw) || raw.length === 0 || raw.length > 10_000)
      throw new LogsError("InvalidParameterException", "logEvents must hold 1 to 10000 events");
    const ingestionTime = this.now();
    const events: LogEvent[] = raw.map((e: { timestamp?: unknown; message?: unknown }) => {
      if (typeof e?.timestamp !== "number" || typeof e.message !== "string" || e.message === "")
        throw new LogsError(
          "InvalidParameterException",
          "each log event needs a timestamp and a non-empty message",
        );
      if (Buffer.byteLength(e.message) > MAX_EVENT_BYTES)
        throw new LogsError("InvalidParameterException", "Log event too large: at most 262144 bytes");
      return { timestamp: e.timestamp, message: e.message, ingestionTime };
    });
    for (let i = 1; i < events.length; i++)
      if (events[i]!.timestamp < events[i - 1]!.timestamp)
        throw new LogsError(
          "InvalidParameterException",
          "Log events in a single PutLogEvents request must be in chronological order.",
        );
    s.events.push(...events);
    if (s.events.length > MAX_EVENTS_PER_STREAM) s.events.splice(0, s.events.length - MAX_EVENTS_PER_STREAM);
    s.sequence++;
    this.emit("put", { logGroupName: requireString(body, "logGroupName"), logStreamName: s.name, events });
    return { nextSequenceToken: String(s.sequence).padStart(56, "0") };
  }
}

export function startLogsEmulator(opts: LogsEmulatorOptions = {}): Promise<LogsEmulator> {
  return LogsEmulator.start(opts);
}
