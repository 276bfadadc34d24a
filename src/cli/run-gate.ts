/** The gate commands' bodies. */
import { gateSettings, gatesAnyConfigCouldName } from "../boot/boot-config.ts";
import { errorMessage, InputError, RunError } from "../core/errors.ts";
import { currentBootId } from "../gate/boot-id.ts";
import { closeGate, readGate } from "../gate/gate-file.ts";
import { RootFs } from "../host/root-fs.ts";

export const GATE_CLOSED_EXIT = 3;

export async function runGateStatus(flags: {
  root: string;
  config?: string;
  json: boolean;
  bootId?: string;
}): Promise<number> {
  const fs = new RootFs(flags.root);
  const { gateFile } = gateSettings(fs.root, flags.config);
  const bootId = currentBootId(flags.bootId);
  const v = readGate(fs, gateFile, bootId);
  if (flags.json) process.stdout.write(`${JSON.stringify({ file: gateFile, bootId, ...v }, null, 2)}\n`);
  else if (v.state === "open") {
    const r = v.record;
    process.stdout.write(
      `gate open: ${gateFile}: role ${r.role}, config ${r.configRevision?.slice(0, 7) ?? "-"}, app ${r.appRevision?.slice(0, 7) ?? "-"}, opened ${r.openedAt}\n`,
    );
  } else process.stdout.write(`gate ${v.state}: ${gateFile}: ${v.reason}\n`);
  return v.state === "open" ? 0 : GATE_CLOSED_EXIT;
}

/**
 * Take the server out of service. A boot config with a problem elsewhere (a typo in retries) must
 * not keep its gate open: then every gate it could name is closed, and the problem is still
 * reported as bad input (exit 2) after.
 */
export async function runGateClose(flags: { root: string; config?: string }): Promise<number> {
  const fs = new RootFs(flags.root);
  let gateFiles: string[];
  let problem: InputError | undefined;
  try {
    gateFiles = [gateSettings(fs.root, flags.config).gateFile];
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    gateFiles = gatesAnyConfigCouldName(fs.root, flags.config);
    problem = err;
  }
  // each gate on its own: one that cannot be removed (a directory) does not keep the others open
  const removed: string[] = [];
  const failures: string[] = [];
  for (const g of gateFiles) {
    try {
      removed.push(...closeGate(fs, g));
    } catch (err) {
      failures.push(`${g}: ${errorMessage(err)}`);
    }
  }
  // nothing to say of a gate that could not be removed but the failure below
  const absent = gateFiles.filter((g) => !failures.some((f) => f.startsWith(`${g}: `)));
  if (removed.length) process.stdout.write(removed.map((p) => `removed ${p}\n`).join(""));
  else if (absent.length)
    process.stdout.write(
      `gate closed: ${absent.join(", ")} ${absent.length > 1 ? "were" : "was"} not there\n`,
    );
  const failed = failures.length > 0 ? `gate close: could not remove ${failures.join("; ")}` : undefined;
  if (problem) throw failed ? new InputError([...problem.problems, failed]) : problem;
  if (failed) throw new RunError(failed);
  return 0;
}
