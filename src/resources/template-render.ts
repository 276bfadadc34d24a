/**
 * Rendering eta templates (ERB-like `<%= it.port %>`) from the config repo's templates/.
 * A variable the template reads but the resource does not pass is an error naming the template
 * file and line, never the silent string "undefined".
 */
import * as path from "node:path";
import { Eta } from "eta/core";
import { readRepoSource } from "../config/source-path.ts";
import { InputError } from "../core/errors.ts";

const eta = new Eta({ autoEscape: false, varName: "it", useWith: false, debug: true, autoTrim: false });
const compiled = new Map<string, { text: string; fn: ReturnType<Eta["compile"]> }>();

/** Compile (cached per file content); syntax errors name the file. */
export function compileTemplate(repoDir: string, source: string): ReturnType<Eta["compile"]> {
  // read only from inside the config repo, whatever links templates/ holds
  const text = readRepoSource(repoDir, "templates", source)?.toString("utf8");
  if (text === undefined) throw new InputError(`templates/${source}: template not found in the config repo`);
  const file = path.join(repoDir, "templates", source);
  const hit = compiled.get(file);
  if (hit && hit.text === text) return hit.fn;
  try {
    const fn = eta.compile(text);
    compiled.set(file, { text, fn });
    return fn;
  } catch (err) {
    throw new InputError(`templates/${source}: syntax error: ${describeSyntaxError(text, err)}`);
  }
}

/**
 * eta reports unclosed tags with a line, but a JavaScript syntax error inside a tag only as
 * "Bad template syntax": find the first line at which a prefix of the template stops compiling.
 */
function describeSyntaxError(text: string, err: unknown): string {
  const lines = ((err as Error).message ?? String(err)).split("\n").filter((l) => l.trim() !== "");
  if (!lines[0].startsWith("Bad template syntax")) return lines[0].replace(/:$/, "");
  const cause = lines[1] ?? "invalid JavaScript in a tag";
  const src = text.split("\n");
  for (let k = 1; k <= src.length; k++) {
    try {
      eta.compile(src.slice(0, k).join("\n"));
    } catch (e) {
      if ((e as Error).message.startsWith("Bad template syntax")) return `line ${k}: ${cause}`;
    }
  }
  return cause;
}

export function renderTemplate(repoDir: string, source: string, variables: Record<string, unknown>): string {
  const fn = compileTemplate(repoDir, source);
  try {
    return eta.render(fn, strict(variables, "it"));
  } catch (err) {
    throw new InputError(`templates/${source}: ${describeRenderError(err)}`);
  }
}

function describeRenderError(err: unknown): string {
  const msg = (err as Error).message ?? String(err);
  // eta's debug runtime error: "<file>:<line>\n ... \n<original message>"; keep line and cause
  const line = /line (\d+)/.exec(msg)?.[1] ?? /:(\d+)\n/.exec(msg)?.[1];
  const lines = msg.split("\n").filter((l) => l.trim() !== "");
  const cause = lines[lines.length - 1].replace(/^\w*Error:\s*/, "");
  return line ? `line ${line}: ${cause}` : cause;
}

/**
 * Strict views, one per object: the same item always comes out as the same view, so a template
 * can compare items (`it.servers.indexOf(s)`), and a view written back into a list is the item.
 */
const views = new WeakMap<object, object>();
const targets = new WeakMap<object, object>();

function remember<T extends object>(target: object, view: T): T {
  views.set(target, view);
  targets.set(view, target);
  return view;
}

/** A read-only view that throws on any property that was not passed. */
function strict(obj: Record<string, unknown>, label: string): Record<string, unknown> {
  const known = views.get(obj);
  if (known) return known as Record<string, unknown>;
  return remember(
    obj,
    new Proxy(obj, {
      get(target, key, receiver) {
        if (typeof key === "symbol" || key in target || key === "toJSON" || key === "then")
          return wrap(target, key, Reflect.get(target, key, receiver), `${label}.${String(key)}`);
        throw new ReferenceError(
          `variable ${label}.${key} is not defined; pass it in the resource's variables`,
        );
      },
    }),
  );
}

/**
 * A value read from `owner[key]`, as a strict view when it is a plain object or a list (a list's
 * items too: `it.servers.forEach((s) => s.prot)` reads each item through the list, and its
 * methods read items by index on the view). A property that must read as itself (frozen) stays.
 */
function wrap(owner: object, key: PropertyKey, v: unknown, label: string): unknown {
  const d = Object.getOwnPropertyDescriptor(owner, key);
  if (d && d.configurable === false && d.writable === false) return v;
  if (Array.isArray(v)) {
    const known = views.get(v);
    if (known) return known;
    return remember(
      v,
      new Proxy(v, {
        get(target, k, receiver) {
          const item = Reflect.get(target, k, receiver);
          return typeof k === "string" && /^\d+$/.test(k) ? wrap(target, k, item, `${label}[${k}]`) : item;
        },
        // sort() and friends write items back: the items, never their views
        set(target, k, value) {
          return Reflect.set(target, k, (value && typeof value === "object" && targets.get(value)) || value);
        },
      }),
    );
  }
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype)
    return strict(v as Record<string, unknown>, label);
  return v;
}
