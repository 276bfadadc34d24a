/** The schema command's body. */
import { bootConfigJsonSchema } from "../boot/boot-config.ts";
import { roleJsonSchema } from "../config/role-schema.ts";
import { InputError } from "../core/errors.ts";
import { fleetConfigJsonSchema } from "../fleet/control/fleet-config.ts";

export function runSchema(kind: string): number {
  const schemas: Record<string, () => unknown> = {
    boot: bootConfigJsonSchema,
    role: roleJsonSchema,
    fleet: fleetConfigJsonSchema,
  };
  const make = schemas[kind];
  if (!make) throw new InputError(`schema ${kind}: unknown kind; expected boot, role or fleet`);
  process.stdout.write(`${JSON.stringify(make(), null, 2)}\n`);
  return 0;
}
