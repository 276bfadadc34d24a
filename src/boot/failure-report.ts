/**
 * Where a boot that gave up leaves its failure record (failure-record.ts) before the ABANDON:
 * one line on the console (the boot config's `console`, default /dev/console, else
 * /dev/ttyS0), and, with `failureLog`, an event in CloudWatch Logs. Each write is bounded and
 * its failure only logged: the record is evidence, and a missing console or an unreachable
 * CloudWatch must not change what the boot does (fail closed, ABANDON).
 */
import * as path from "node:path";
import { putFailureRecord } from "../cloud/failure-log.ts";
import { writeConsoleLine } from "../host/console-write.ts";
import { readTail } from "../host/host-files.ts";
import type { RootFs } from "../host/root-fs.ts";
import type { RunLog } from "../runner/run-log.ts";
import type { BootConfig } from "./boot-config.ts";
import { buildFailureRecord, consoleLine } from "./failure-record.ts";
import { CLOUD_INIT_INSTANCE_ID } from "./lifecycle-target.ts";
import { describeError, type Facts } from "./pipeline.ts";
import type { BootRecord } from "./state.ts";

/** How much of the end of boot.log is read for the record's last lines. */
const LOG_TAIL_BYTES = 64 * 1024;
const DEFAULT_CONSOLE = "/dev/console";
const SERIAL_CONSOLE = "/dev/ttyS0";

export interface FailureReportContext {
  cfg: BootConfig;
  fs: RootFs;
  env: Record<string, string | undefined>;
  log: RunLog;
  say: (line: string) => void;
}

/** The consoles to try, in order: the configured one, and the serial port after the default. */
export function consoleCandidates(configured: string): string[] {
  if (configured === "off") return [];
  return configured === DEFAULT_CONSOLE ? [DEFAULT_CONSOLE, SERIAL_CONSOLE] : [configured];
}

function writeConsole(c: FailureReportContext, line: string): void {
  const why: string[] = [];
  for (const p of consoleCandidates(c.cfg.console)) {
    let host: string;
    try {
      host = c.fs.resolve(p, false);
    } catch (err) {
      why.push(`${p}: ${describeError(err)}`);
      continue;
    }
    const r = writeConsoleLine(host, line);
    if (r === "written") {
      c.log.event("failure-record.console", { console: p });
      return;
    }
    why.push(r);
  }
  if (why.length > 0) c.log.event("failure-record.no-console", { why });
}

/** The pipeline's reportFailure: build the record, then the console, then CloudWatch Logs. */
export function failureReporter(
  c: FailureReportContext,
): (record: BootRecord, facts: Facts) => Promise<void> {
  return async (record, facts) => {
    const instanceId =
      facts.identity?.instanceId ?? c.fs.readText(CLOUD_INIT_INSTANCE_ID)?.trim() ?? undefined;
    // the lines of this very failure (stage.failed, run.gave-up) are still held by the log
    c.log.flush();
    const logFile = path.join(c.fs.root, "var/log/muster/boot.log");
    const failure = buildFailureRecord({
      instanceId: instanceId || undefined,
      bootId: record.bootId,
      runId: record.runId,
      stage: record.failedStage ?? "unknown",
      cause: record.error ?? "unknown error",
      attempts: record.attempts,
      gaveUp: record.gaveUp,
      role: record.role,
      configRevision: record.configRevision,
      at: new Date().toISOString(),
      logTail: readTail(logFile, LOG_TAIL_BYTES).split("\n"),
    });
    writeConsole(c, consoleLine(failure));

    const target = c.cfg.failureLog;
    if (!target) return;
    const region =
      c.cfg.endpoints.region ?? facts.identity?.region ?? c.env.AWS_REGION ?? c.env.AWS_DEFAULT_REGION;
    if (!region) {
      c.log.event("failure-record.error", { error: "no region for CloudWatch Logs (set endpoints.region)" });
      return;
    }
    const logStream = target.logStream ?? failure.instanceId ?? `boot-${record.bootId}`;
    const timeoutMs = c.cfg.timeouts.lifecycleMs;
    try {
      await putFailureRecord(
        {
          logGroup: target.logGroup,
          logStream,
          region,
          endpoint: c.cfg.endpoints.logs,
          metadataEndpoint: c.cfg.endpoints.metadata === "off" ? undefined : c.cfg.endpoints.metadata,
          timeoutMs,
          deadlineMs: 2 * timeoutMs + 1000,
        },
        JSON.stringify(failure),
        Date.now(),
      );
      c.log.event("failure-record.logs", { logGroup: target.logGroup, logStream });
      c.say(`  failure record written to CloudWatch Logs ${target.logGroup}/${logStream}`);
    } catch (err) {
      c.log.event("failure-record.error", { error: describeError(err) });
      c.say(`  failure record NOT written to CloudWatch Logs: ${describeError(err)}`);
    }
  };
}
