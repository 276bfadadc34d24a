/** The converge command's body, loaded only when it runs. */

import * as path from "node:path";
import { parseAttrFlag } from "../config/attributes.ts";
import { InputError } from "../core/errors.ts";
import { LIMITS } from "../core/schema-parts.ts";
import { convergeSession } from "../runner/session.ts";
import { type CoalescedOutput, coalescedOutput } from "./coalesced-output.ts";
import { resourceLines, type Style, style, summaryLine, useColour } from "./human-report.ts";

export interface ConvergeFlags {
  repo: string;
  role: string;
  root: string;
  dryRun: boolean;
  json: boolean;
  environment?: string;
  attr: string[];
  lockWait: string;
}

/** Returns true when the run converged. */
export async function runConverge(flags: ConvergeFlags): Promise<boolean> {
  const lockWait = Number(flags.lockWait);
  if (!Number.isFinite(lockWait) || lockWait < 0)
    throw new InputError(`--lock-wait ${flags.lockWait}: expected seconds`);
  const attrFlags = flags.attr.map(parseAttrFlag);
  // an environment names a key of the roles' env_run_lists: a name, as the boot config's is
  if (flags.environment !== undefined && !/^[\w.-]{1,255}$/.test(flags.environment))
    throw new InputError(
      `--environment ${flags.environment.slice(0, 40)}${flags.environment.length > 40 ? "..." : ""}: expected a name of letters, digits, . _ - (at most ${LIMITS.name} characters)`,
    );
  const s = style(useColour(process.stdout));
  const header = convergeHeader(flags);
  const out = coalescedOutput(process.stdout);
  try {
    return await convergeAndReport(flags, attrFlags, lockWait, s, out, header);
  } finally {
    out.flush();
  }
}

async function convergeAndReport(
  flags: ConvergeFlags,
  attrFlags: ReturnType<typeof parseAttrFlag>[],
  lockWait: number,
  s: Style,
  out: CoalescedOutput,
  header: ReturnType<typeof convergeHeader>,
): Promise<boolean> {
  const human = !flags.json;
  const report = await convergeSession({
    repoDir: flags.repo,
    role: flags.role,
    root: flags.root,
    dryRun: flags.dryRun,
    environment: flags.environment,
    attrFlags,
    lockWaitMs: lockWait * 1000,
    // bad input is one line on stderr and nothing on stdout: the header waits for good input
    onStart: () => {
      if (human) out.write(`${header.text}\n`);
      // --json keeps stdout for the report; a person at a terminal still hears it is this host
      else if (header.host && process.stderr.isTTY) process.stderr.write(`${header.text}\n`);
    },
    onResult: human
      ? (r) =>
          out.write(
            resourceLines(r, s)
              .map((l) => `${l}\n`)
              .join(""),
          )
      : undefined,
    onProgress: human ? (m) => out.write(`  ${s.dim(m)}\n`) : undefined,
  });
  if (flags.json) out.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    out.write(`${summaryLine(report, s)}\n`);
    out.flush(); // the summary before the failure on stderr
    if (report.error) process.stderr.write(`muster: converge failed: ${report.error}\n`);
  }
  return report.outcome === "converged";
}

/**
 * The run's first line. Converging `/` changes the machine muster runs on, which the default
 * --root makes easy to do by accident: that is said in capitals, not as one root among others.
 */
export function convergeHeader(flags: Pick<ConvergeFlags, "role" | "root" | "dryRun">): {
  text: string;
  host: boolean;
} {
  const host = path.resolve(flags.root) === "/";
  const dry = flags.dryRun ? " (dry run: nothing will change)" : "";
  return host
    ? { host, text: `muster converge: converging THIS HOST (/) to role ${flags.role}${dry}` }
    : { host, text: `muster: converging role ${flags.role} into ${flags.root}${dry}` };
}
