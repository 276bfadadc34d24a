/**
 * Every field of `muster schema boot|role|fleet` is documented in the docs' field tables and
 * carries that description (editors' hover text), every documented field exists in its schema,
 * and the generated descriptions are those of the docs as they are now.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../test-support/tmp.ts";
import { schemaOf } from "./run-schema.ts";
import { DESCRIPTIONS_FILE, renderDescriptions, SCHEMA_DOCS } from "./schema-descriptions-source.ts";
import { descriptions, fieldPaths, fieldRows, nodesAt } from "./schema-docs.ts";

describe("schema descriptions from the docs' field tables", () => {
  it("are up to date (run npm run schema-docs after editing a table)", () => {
    expect(readFileSync(path.join(REPO_ROOT, DESCRIPTIONS_FILE), "utf8")).toBe(renderDescriptions(REPO_ROOT));
  });

  for (const [kind, doc] of Object.entries(SCHEMA_DOCS)) {
    it(`${kind}: every field is in ${doc}'s table and has its description; every documented field exists`, () => {
      const schema = schemaOf(kind) as Record<string, unknown>;
      const documented = descriptions(fieldRows(readFileSync(path.join(REPO_ROOT, doc), "utf8")));
      const docPaths = Object.keys(documented);
      // a field is covered by its own row or by its parent's (repositories.config covers .dir)
      const covered = (p: string) =>
        docPaths.some((d) => p === d || p.startsWith(`${d}.`) || p.startsWith(`${d}[]`));
      // an object whose fields have rows of their own (group: group.min, ...) needs none
      const parent = (p: string) => docPaths.some((d) => d.startsWith(`${p}.`) || d.startsWith(`${p}[]`));
      const undocumented = fieldPaths(schema).filter((p) => p !== "$schema" && !covered(p) && !parent(p));
      expect(undocumented, `fields of muster schema ${kind} missing from ${doc}'s table`).toEqual([]);
      const unknown = docPaths.filter((p) => nodesAt(schema, p).length === 0);
      expect(unknown, `fields of ${doc}'s table that muster schema ${kind} does not have`).toEqual([]);
      for (const p of docPaths)
        for (const node of nodesAt(schema, p)) expect(node.description, `${kind} ${p}`).toBe(documented[p]);
    });
  }

  it("reads several fields from one row, siblings named short", () => {
    const rows = fieldRows(
      "| Field | Default | Meaning |\n| --- | --- | --- |\n| `a.b`, `c` | `1` | the [b](x.md) and `c` |\n\n| `x` | y | not a table row |\n",
    );
    expect(rows).toEqual([{ paths: ["a.b", "a.c"], default: "1", meaning: "the b and c" }]);
    expect(descriptions(rows)).toEqual({
      "a.b": "the b and c. Default: 1.",
      "a.c": "the b and c. Default: 1.",
    });
  });
});
