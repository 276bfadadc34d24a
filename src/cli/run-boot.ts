/** The boot command's body, loaded only when it runs. */
import { runBoot } from "../boot/boot.ts";
import { lifecycleOutcome } from "../boot/state.ts";
import { type CoalescedOutput, coalescedOutput } from "./coalesced-output.ts";
import { resourceLines, type Style, style, useColour } from "./human-report.ts";
import { createProgress } from "./progress.ts";

export interface BootFlags {
  root: string;
  config?: string;
  json: boolean;
  bootId?: string;
  periodic: boolean;
}

export async function runBootCommand(flags: BootFlags): Promise<number> {
  // The pinned SDK versions support Node 20 (package.json); their notice about later releases
  // would otherwise land in every boot's journal.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const stream = flags.json ? process.stderr : process.stdout;
  const s = style(useColour(stream));
  const out = coalescedOutput(stream);
  try {
    return await bootAndReport(flags, out, s);
  } finally {
    out.flush();
  }
}

async function bootAndReport(flags: BootFlags, out: CoalescedOutput, s: Style): Promise<number> {
  // fetch and deps may take a minute: each stage shows when it starts (on a terminal, with the
  // seconds it has run); with --json the human lines go to stderr as they are, nothing more
  const progress = flags.json ? undefined : createProgress({ lines: out });
  const say = progress ? (line: string) => progress.line(line) : (line: string) => out.write(`${line}\n`);
  const res = await runBoot({
    root: flags.root,
    config: flags.config,
    bootId: flags.bootId,
    mode: flags.periodic ? "periodic" : "boot",
    say,
    onResult: (r) => {
      for (const l of resourceLines(r, s)) say(`  ${l}`);
    },
    onEvent: (event, fields) => {
      const stage = String(fields?.stage ?? "");
      if (event === "stage.start") progress?.start(stage, `  ${stage}`);
      else if (event === "stage.end" || event === "stage.failed") progress?.end(stage);
    },
  }).finally(() => progress?.close());
  const r = res.record;
  out.flush(); // what the boot printed comes before what follows, on whichever stream
  if (flags.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  const took = `${((r.durationMs ?? 0) / 1000).toFixed(2)} s`;
  const revs = `role ${r.role ?? "?"}, config ${short(r.configRevision)}, app ${short(r.appRevision)}`;
  const lifecycle = r.lifecycle ? `; lifecycle ${lifecycleOutcome(r.lifecycle, r.outcome)}` : "";
  let line: string;
  switch (r.outcome) {
    case "open":
      line = s.green(`muster boot: gate open (${revs}) in ${took}${lifecycle}`);
      break;
    case "warmed":
      line = `muster boot: converged for a warm pool (${revs}) in ${took}; gate left closed`;
      break;
    case "leaving":
      line = `muster boot: converged (${revs}) in ${took}, but this instance is leaving (${r.departure}); gate left closed${lifecycle}`;
      break;
    case "converged":
      line = s.green(`muster ${r.mode}: converged (${revs}) in ${took}`);
      break;
    case "skipped":
      line = `muster ${r.mode}: skipped: ${r.gaveUp}`;
      break;
    default:
      line = s.red(
        `muster ${r.mode}: FAILED at stage ${r.failedStage} (${r.gaveUp ?? "gave up"}): ${r.error}; ` +
          `gate ${r.mode === "boot" || res.config.periodic.closeGateOnFailure ? "closed" : "left as it was"}${lifecycle}`,
      );
  }
  if (r.outcome === "failed" || (r.lifecycle && !r.lifecycle.ok)) process.stderr.write(`${line}\n`);
  else say(line);
  return res.exitCode;
}

function short(rev: string | undefined): string {
  return rev ? rev.slice(0, 7) : "-";
}
