/** The schema command's body. */
import { bootConfigJsonSchema } from "../boot/boot-config.ts";
import { roleJsonSchema } from "../config/role-schema.ts";
import { InputError } from "../core/errors.ts";

export function runSchema(kind: string): number {
  const schemas: Record<string, () => unknown> = { boot: bootConfigJsonSchema, role: roleJsonSchema };
  const make = schemas[kind];
  if (!make) throw new InputError(`schema ${kind}: unknown kind; expected boot or role`);
  process.stdout.write(`${JSON.stringify(make(), null, 2)}\n`);
  return 0;
}
