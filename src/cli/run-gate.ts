/** The gate commands' bodies. */
import { gateSettings } from "../boot/boot-config.ts";
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

export async function runGateClose(flags: { root: string; config?: string }): Promise<number> {
  const fs = new RootFs(flags.root);
  const { gateFile } = gateSettings(fs.root, flags.config);
  const removed = closeGate(fs, gateFile);
  process.stdout.write(
    removed.length
      ? removed.map((p) => `removed ${p}\n`).join("")
      : `gate closed: ${gateFile} was not there\n`,
  );
  return 0;
}
