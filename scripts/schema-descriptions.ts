/**
 * Writes src/cli/schema-descriptions.ts from the docs' field tables (the one place the fields
 * are described): `node --import tsx scripts/schema-descriptions.ts`.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { DESCRIPTIONS_FILE, renderDescriptions } from "../src/cli/schema-descriptions-source.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
writeFileSync(path.join(root, DESCRIPTIONS_FILE), renderDescriptions(root));
