/**
 * The id of the running kernel boot. A gate records the boot it was opened on; a gate from
 * another boot (baked into an image, left from before a reboot) reads as stale. Sandboxes that
 * share one kernel (fleet rehearsals, tests) set their own with MUSTER_BOOT_ID or --boot-id.
 */
import { readFileSync } from "node:fs";
import { InputError, RunError } from "../core/errors.ts";

export const KERNEL_BOOT_ID = "/proc/sys/kernel/random/boot_id";

export function currentBootId(
  flag?: string,
  env: Record<string, string | undefined> = process.env,
  file = KERNEL_BOOT_ID,
): string {
  const given = flag ?? env.MUSTER_BOOT_ID;
  if (given !== undefined) {
    const id = given.trim();
    if (!/^[A-Za-z0-9._:-]{1,128}$/.test(id))
      throw new InputError(
        `${flag !== undefined ? "--boot-id" : "MUSTER_BOOT_ID"} "${given}": expected letters, digits, . _ : - (1 to 128)`,
      );
    return id;
  }
  try {
    const id = readFileSync(file, "utf8").trim();
    if (id) return id;
  } catch {}
  throw new RunError(`cannot read the boot id from ${file}; set MUSTER_BOOT_ID or pass --boot-id`);
}
