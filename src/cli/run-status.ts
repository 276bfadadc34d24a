/** The status command's body: the last run's record, read from the state directory. */
import { gateSettings } from "../boot/boot-config.ts";
import { configRefAgreement, configRefText } from "../boot/config-ref.ts";
import { departureLines, readDepartureRecord } from "../boot/departure-record.ts";
import { exitCode } from "../boot/pipeline.ts";
import { lifecycleOutcome, readRecordChecked } from "../boot/state.ts";
import { currentBootId } from "../gate/boot-id.ts";
import { readGate } from "../gate/gate-file.ts";
import { RootFs } from "../host/root-fs.ts";

export interface StatusFlags {
  root: string;
  config?: string;
  json: boolean;
  bootId?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function runStatus(flags: StatusFlags): Promise<number> {
  const fs = new RootFs(flags.root);
  const { stateDir, gateFile, config } = gateSettings(fs.root, flags.config);
  const read = readRecordChecked(fs, stateDir);
  const record = "record" in read ? read.record : undefined;
  const departure = readDepartureRecord(fs, stateDir);
  let gate: { state: string; reason?: string } = { state: "unknown" };
  let bootId: string | undefined;
  try {
    bootId = currentBootId(flags.bootId);
    const v = readGate(fs, gateFile, bootId);
    gate = v.state === "open" ? { state: "open" } : { state: v.state, reason: v.reason };
  } catch (err) {
    gate = { state: "unknown", reason: (err as Error).message };
  }
  if (!record) {
    const damaged = "damaged" in read ? read.damaged : undefined;
    if (flags.json) process.stdout.write(`${JSON.stringify({ lastRun: null, damaged, gate }, null, 2)}\n`);
    else if (damaged)
      process.stdout.write(
        `muster status: the last run's record is damaged: ${damaged} (under ${fs.root}); the next boot writes it anew\n`,
      );
    else process.stdout.write(`muster status: no run recorded in ${stateDir} under ${fs.root}\n`);
    return 1;
  }
  // a run that was killed never wrote its end (after a reboot its pid may belong to another process)
  const interrupted =
    record.outcome === "running" &&
    (!alive(record.pid) || (bootId !== undefined && record.bootId !== bootId));
  // no boot config (a converge-only root): no ref to compare with
  const configRef = config ? configRefAgreement(config.repo, record.configRevision) : undefined;
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ lastRun: { ...record, interrupted }, configRef: configRef ?? null, gate, departure: departure ?? null }, null, 2)}\n`,
    );
  } else {
    const lines: string[] = [];
    const took = record.durationMs !== undefined ? ` in ${(record.durationMs / 1000).toFixed(2)} s` : "";
    const outcome = interrupted
      ? `interrupted (its process ${record.pid} is gone) after stage ${record.stages.at(-1)?.stage ?? "(none)"}`
      : record.outcome === "failed"
        ? `FAILED at stage ${record.failedStage}`
        : record.outcome;
    lines.push(`last ${record.mode} run: ${outcome}${took}, started ${record.startedAt}`);
    lines.push(`  role:            ${record.role ?? "-"}`);
    lines.push(`  config revision: ${record.configRevision ?? "-"}`);
    if (configRef) lines.push(`  config ref:      ${configRefText(configRef)}`);
    lines.push(`  app revision:    ${record.appRevision ?? "-"}`);
    if (record.instanceId) lines.push(`  instance:        ${record.instanceId}`);
    lines.push(`  attempts:        ${record.attempts}`);
    if (record.failedStage) lines.push(`  failed stage:    ${record.failedStage}`);
    if (record.error) lines.push(`  error:           ${record.error}`);
    if (record.gaveUp) lines.push(`  stopped:         ${record.gaveUp}`);
    if (record.departure) lines.push(`  leaving:         ${record.departure}`);
    if (record.lifecycle)
      lines.push(`  lifecycle:       ${lifecycleOutcome(record.lifecycle, record.outcome)}`);
    lines.push(`  gate:            ${gate.state}${gate.reason ? ` (${gate.reason})` : ""}`);
    if (departure) lines.push(...departureLines(departure));
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return interrupted ? 1 : exitCode(record);
}
