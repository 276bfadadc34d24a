/**
 * Field descriptions for `muster schema`, so editors show hover text. The docs' field tables
 * (docs/boot.md, docs/fleet.md, docs/config-repo.md) are the one place they are written:
 * `fieldRows` reads a table PURELY, scripts/schema-descriptions.ts writes what it read into
 * schema-descriptions.ts (a test checks that file is up to date and that every field of each
 * schema is documented), and `describeSchema` puts them into the JSON Schema.
 */

export interface FieldRow {
  /** dotted paths: "group.min"; "checks[]" is an array's items */
  paths: string[];
  default: string;
  meaning: string;
}

const plain = (md: string) =>
  md
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/`/g, "")
    .trim();

/**
 * PURE: the rows of every `field | default | meaning` table in a markdown text. A first cell
 * may name several fields: "`a.b`, `c`" is a.b and its sibling a.c.
 */
export function fieldRows(markdown: string): FieldRow[] {
  const rows: FieldRow[] = [];
  let inTable = false;
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("|")) {
      inTable = false;
      continue;
    }
    const cells = line
      .slice(1, line.endsWith("|") ? -1 : undefined)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    if (/^field$/i.test(cells[0] ?? "") && /^default$/i.test(cells[1] ?? "")) {
      inTable = true;
      continue;
    }
    if (!inTable || /^-+$/.test(cells[0] ?? "")) continue;
    const names = [...(cells[0] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    if (names.length === 0) continue;
    const first = names[0]!;
    const parent = first.includes(".") ? first.slice(0, first.lastIndexOf(".") + 1) : "";
    rows.push({
      paths: names.map((n, i) => (i === 0 || n.includes(".") ? n : parent + n)),
      default: plain(cells[1] ?? ""),
      meaning: plain((cells[2] ?? "").replace(/\\\|/g, "|")),
    });
  }
  return rows;
}

/** PURE: path -> the description an editor shows (the meaning, then the default). */
export function descriptions(rows: FieldRow[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of rows) {
    const dflt = r.default && !/^\(?(none|required)\)?$/i.test(r.default) ? ` Default: ${r.default}.` : "";
    for (const p of r.paths) out[p] = `${r.meaning.replace(/\.$/, "")}.${dflt}`;
  }
  return out;
}

type Json = Record<string, any>;

/** The schema nodes at a dotted path (several where a union offers the field more than once). */
export function nodesAt(schema: Json, dotted: string): Json[] {
  let nodes = [schema];
  for (const part of dotted.split(".")) {
    const arr = part.endsWith("[]");
    const key = arr ? part.slice(0, -2) : part;
    nodes = nodes.flatMap(alternatives).flatMap((n) => (n.properties?.[key] ? [n.properties[key]] : []));
    if (arr) nodes = nodes.flatMap(alternatives).flatMap((n) => (n.items ? [n.items] : []));
  }
  return nodes;
}

function alternatives(n: Json): Json[] {
  const alts = [...(n.anyOf ?? []), ...(n.oneOf ?? []), ...(n.allOf ?? [])] as Json[];
  return [n, ...alts.flatMap(alternatives)];
}

/** Every field of a schema as a dotted path (objects' properties, arrays' items as "[]"). */
export function fieldPaths(schema: Json, prefix = ""): string[] {
  const out: string[] = [];
  for (const n of alternatives(schema)) {
    for (const [key, child] of Object.entries((n.properties ?? {}) as Record<string, Json>)) {
      const p = prefix + key;
      out.push(p);
      out.push(...fieldPaths(child, `${p}.`));
      for (const c of alternatives(child))
        if (c.items && typeof c.items === "object") out.push(...fieldPaths(c.items, `${p}[].`));
    }
  }
  return [...new Set(out)];
}

/** The JSON Schema with each documented field's description (it is changed in place). */
export function describeSchema<T>(schema: T, described: Record<string, string>): T {
  for (const [p, text] of Object.entries(described))
    for (const node of nodesAt(schema as Json, p)) node.description = text;
  return schema;
}
