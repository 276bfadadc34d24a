/** Attribute merging (pure): deep merge of plain objects; arrays and scalars are replaced. */
import { MAX_NESTING, nestsDeeperThan } from "../core/data-file.ts";
import { InputError } from "../core/errors.ts";

export type Attrs = Record<string, any>;

function isPlain(v: unknown): v is Attrs {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Merge `over` onto `base` into a new object; `over` wins. */
export function deepMerge(base: Attrs, over: Attrs): Attrs {
  const out: Attrs = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlain(v) && isPlain(out[k]) ? deepMerge(out[k], v) : structuredClone(v);
  }
  return out;
}

/**
 * `--attr app.port=8080` -> { app: { port: 8080 } }. Values are parsed as JSON when they parse
 * (numbers, booleans, arrays, quoted strings), else taken as strings.
 */
export function parseAttrFlag(flag: string): Attrs {
  const eq = flag.indexOf("=");
  if (eq <= 0) throw new InputError(`--attr ${flag}: expected key.path=value`);
  const keys = flag.slice(0, eq).split(".");
  if (keys.some((k) => k === "")) throw new InputError(`--attr ${flag}: empty key in "${flag.slice(0, eq)}"`);
  const raw = flag.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {}
  if (keys.length > MAX_NESTING || nestsDeeperThan(value, MAX_NESTING - keys.length))
    throw new InputError(`--attr ${flag.slice(0, 40)}...: nested more than ${MAX_NESTING} levels deep`);
  const out: Attrs = {};
  let cur = out;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) cur[k] = value;
    else cur = cur[k] = {};
  });
  return out;
}
