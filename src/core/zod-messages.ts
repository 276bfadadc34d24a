/**
 * zod's issues in muster's words. zod's English ("Invalid input: expected int, received number",
 * "Too small: expected number to be >=1") names zod's types, not what the operator should write;
 * these say what the field must be and what it was given. A message a schema sets itself
 * (`{ message }`, refine) wins over this, as zod gives schema-level messages precedence.
 */
import type { z } from "zod";
import { formatPath } from "./zod-problems.ts";

type Issue = z.core.$ZodRawIssue;

/** A given value, short enough for a one-line message. */
export function shown(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") {
    const s = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return JSON.stringify(s);
  }
  return String(value);
}

const KIND: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "an object (key: value)",
  record: "an object (key: value)",
  bigint: "a whole number",
  date: "a date",
  null: "null",
  tuple: "a list",
};

/**
 * Fields whose values may be secrets: their values are never echoed (environment variables,
 * passwords, tokens, keys, file content). zod's own wording never echoed values; muster's does,
 * where it helps and cannot leak.
 */
const SECRET_FIELD = /env|password|passwd|secret|token|key|credential|auth|content|variables/i;

/** the path of the issue being worded (customError is called one issue at a time) */
let issuePath: readonly PropertyKey[] = [];

function given(input: unknown): string {
  if (input === undefined || issuePath.some((k) => typeof k === "string" && SECRET_FIELD.test(k))) return "";
  return ` (got ${shown(input)})`;
}

/**
 * A key as a message names it. Under a field whose values may be secrets, a key holding "=" is
 * shown up to it: it is a NAME=value written as the key, and the value may be the secret.
 */
function shownKey(key: unknown): string {
  const k = String(key);
  const eq = k.indexOf("=");
  const secret = issuePath.slice(0, -1).some((p) => typeof p === "string" && SECRET_FIELD.test(p));
  return shown(secret && eq >= 0 ? `${k.slice(0, eq + 1)}...` : k);
}

function bound(
  issue: { minimum?: unknown; maximum?: unknown; inclusive?: boolean; exact?: boolean; origin?: string },
  small: boolean,
  input: unknown,
): string {
  const n = Number(small ? issue.minimum : issue.maximum);
  switch (issue.origin) {
    case "string":
      if (small && n === 1) return "must not be empty";
      return `must be ${issue.exact ? "exactly" : small ? "at least" : "at most"} ${n} characters long`;
    case "array":
    case "set":
      if (small && n === 1) return "must list at least one item";
      return `must list ${issue.exact ? "exactly" : small ? "at least" : "at most"} ${n} item${n === 1 ? "" : "s"}`;
    default: {
      const word = small
        ? issue.inclusive
          ? "at least"
          : "more than"
        : issue.inclusive
          ? "at most"
          : "less than";
      return `must be ${issue.exact ? "exactly" : word} ${n}${given(input)}`;
    }
  }
}

/**
 * "a string or a list" when each branch of a union failed on the value's type itself; zod hands
 * over a lone branch that got further by itself, so the rest have nothing better to say.
 */
function unionForms(branches: z.core.$ZodIssue[][]): string | undefined {
  const forms: string[] = [];
  for (const issues of branches) {
    const first = issues[0];
    if (!first || first.path.length > 0) return undefined;
    if (first.code === "invalid_type") forms.push(KIND[first.expected] ?? first.expected);
    else if (first.code === "invalid_value") forms.push(...first.values.map((v) => shown(v)));
    else return undefined;
  }
  const unique = [...new Set(forms)];
  if (unique.length === 0) return undefined;
  return unique.length === 1 ? unique[0] : `${unique.slice(0, -1).join(", ")} or ${unique.at(-1)}`;
}

function wrongType(i: z.core.$ZodIssue): boolean {
  return i.code === "invalid_type" || i.code === "invalid_value";
}

/** muster's message for a zod issue; undefined leaves zod's (never reached for known codes). */
export function plainIssueMessage(issue: Issue): string | undefined {
  issuePath = issue.path ?? [];
  const input = issue.input;
  switch (issue.code) {
    case "invalid_type": {
      if (input === undefined) return "required";
      const want = KIND[issue.expected] ?? issue.expected;
      if (issue.expected === "int" && typeof input === "number")
        return `must be a whole number${given(input)}`;
      return `must be ${want}${given(input)}`;
    }
    case "invalid_value": {
      const values = issue.values.map((v) => shown(v));
      return values.length === 1
        ? `must be ${values[0]}${given(input)}`
        : `must be one of ${values.join(", ")}${given(input)}`;
    }
    case "too_small":
      return bound(issue, true, input);
    case "too_big":
      return bound(issue, false, input);
    case "not_multiple_of":
      return `must be a multiple of ${String(issue.divisor)}${given(input)}`;
    case "invalid_format":
      if (issue.format === "regex")
        return `does not have the expected form (${String(issue.pattern)})${given(input)}`;
      if (issue.format === "starts_with") return `must start with ${shown(issue.prefix)}${given(input)}`;
      if (issue.format === "ends_with") return `must end with ${shown(issue.suffix)}${given(input)}`;
      if (issue.format === "includes") return `must include ${shown(issue.includes)}${given(input)}`;
      return `must be a valid ${issue.format}${given(input)}`;
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    case "invalid_union": {
      const branches = issue.errors as z.core.$ZodIssue[][];
      const forms = unionForms(branches);
      if (forms) return `must be ${forms}${given(input)}`;
      // one form fits the value's type and fails inside ({ resource, timing: "later" }): say why
      const inner = branches.filter((b) => b[0] && !(b[0].path.length === 0 && wrongType(b[0])));
      if (inner.length === 1) {
        const first = inner[0]![0]!;
        return first.path.length > 0 ? `${formatPath(first.path)}: ${first.message}` : first.message;
      }
      return `matches none of the forms this field takes${given(input)}`;
    }
    case "invalid_key": {
      // the key is named here, not in the path (zodProblems leaves it out): "", a NUL or an "="
      // would not read as a key there; its own check says what is wrong with it
      const why = (issue.issues as z.core.$ZodIssue[] | undefined)?.[0]?.message ?? "not allowed";
      return `key ${shownKey(input)}: ${why}`;
    }
    case "invalid_element":
      return "has a value that is not allowed";
    case "custom":
      return `is not valid${given(input)}`;
    default:
      return undefined;
  }
}
