/**
 * The image prepare body: everything a new server must not inherit from the machine an image
 * is captured from: the gate (an image must never carry an open one), the state directory (last
 * run, config checkout, caches), the boot lock, the logs, and the paths listed in image.clean.
 */
import * as path from "node:path";
import { BOOT_LOCK } from "../boot/boot.ts";
import { gateSettings } from "../boot/boot-config.ts";
import { InputError } from "../core/errors.ts";
import { RootFs } from "../host/root-fs.ts";

export async function runImagePrepare(flags: {
  root: string;
  config?: string;
  dryRun: boolean;
}): Promise<number> {
  const fs = new RootFs(flags.root);
  const { gateFile, stateDir, config } = gateSettings(fs.root, flags.config);
  const targets: string[] = [gateFile];
  const gateDir = path.posix.dirname(gateFile);
  const tmpPrefix = `.${path.posix.basename(gateFile)}.muster-`;
  for (const n of fs.readDir(gateDir)) if (n.startsWith(tmpPrefix)) targets.push(path.posix.join(gateDir, n));
  for (const n of fs.readDir(stateDir).sort()) targets.push(path.posix.join(stateDir, n));
  targets.push(BOOT_LOCK);
  for (const n of fs.readDir("/var/log/muster").sort()) targets.push(path.posix.join("/var/log/muster", n));
  targets.push(...(config?.image.clean ?? []));
  // the gate is a file: a directory at its path (a gate.file naming one) is not removed whole
  if (fs.lstat(gateFile)?.type === "directory")
    throw new InputError(
      `gate.file ${gateFile} is a directory, not a gate file; nothing was removed: fix gate.file in the boot config`,
    );
  const verb = flags.dryRun ? "would remove" : "removed";
  // every path is looked at before any is removed: one muster refuses (a link of another user's on
  // the way) stops the command with nothing removed, not half an image cleaned
  const present = [...new Set(targets)].filter((t) => fs.lstat(t) !== undefined);
  let count = 0;
  for (const t of present) {
    if (!flags.dryRun) fs.remove(t, true);
    process.stdout.write(`${verb} ${t}\n`);
    count++;
  }
  process.stdout.write(
    `muster image prepare: ${count} path${count === 1 ? "" : "s"} ${flags.dryRun ? "would be removed" : "removed"} under ${fs.root}\n`,
  );
  return 0;
}
