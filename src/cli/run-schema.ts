/** The schema command's body. */
import { bootConfigJsonSchema } from "../boot/boot-config.ts";
import { roleJsonSchema } from "../config/role-schema.ts";
import { InputError } from "../core/errors.ts";
import { fleetConfigJsonSchema } from "../fleet/control/fleet-config.ts";
import { SCHEMA_DESCRIPTIONS } from "./schema-descriptions.ts";
import { describeSchema } from "./schema-docs.ts";

export function runSchema(kind: string): number {
  process.stdout.write(`${JSON.stringify(schemaOf(kind), null, 2)}\n`);
  return 0;
}

/** The JSON Schema of a kind of file, with each field's description from the docs. */
export function schemaOf(kind: string): unknown {
  const schemas: Record<string, () => unknown> = {
    boot: bootConfigJsonSchema,
    role: roleJsonSchema,
    fleet: fleetConfigJsonSchema,
  };
  const make = schemas[kind];
  if (!make) throw new InputError(`schema ${kind}: unknown kind; expected boot, role or fleet`);
  // each field's description (editors' hover text) comes from the docs' field tables
  return describeSchema(make(), SCHEMA_DESCRIPTIONS[kind] ?? {});
}
