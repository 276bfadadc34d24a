/** Where each schema's field descriptions come from, and the generated module's text. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { descriptions, fieldRows } from "./schema-docs.ts";

export const DESCRIPTIONS_FILE = "src/cli/schema-descriptions.ts";

/** schema kind -> the document whose field tables describe it */
export const SCHEMA_DOCS = {
  boot: "docs/boot.md",
  fleet: "docs/fleet.md",
  role: "docs/config-repo.md",
} as const;

export function renderDescriptions(root: string): string {
  const all = Object.fromEntries(
    Object.entries(SCHEMA_DOCS).map(([kind, doc]) => [
      kind,
      descriptions(fieldRows(readFileSync(path.join(root, doc), "utf8"))),
    ]),
  );
  return `/**
 * GENERATED from the field tables of ${Object.values(SCHEMA_DOCS).join(", ")} by
 * scripts/schema-descriptions.ts: edit the docs, then run \`npm run schema-docs\`.
 */
export const SCHEMA_DESCRIPTIONS: Record<string, Record<string, string>> = ${JSON.stringify(all, null, 2)};
`;
}
