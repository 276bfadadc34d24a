/**
 * import() of a module muster did not bundle: a config repo's compiled recipes.
 *
 * bin/muster.js compiles dist/cli.cjs from V8's code cache, and on Node 20 a script compiled from
 * cached data has lost its import() callback: import() in it fails with "A dynamic import
 * callback was not specified". So the bundle makes no import() of its own (it is built with
 * dynamic import turned into require, which is right for everything bundled and for Node's
 * builtins) and bin/muster.js lends its own import() on globalThis. Run from the sources (tsx,
 * vitest) nothing is lent, and plain import() is used; the bundle run some other way says so.
 */
import { InputError } from "./errors.ts";

const LENT = "__musterImport";
/** true in dist/cli.cjs (scripts/build.mjs defines it), where import() became require() */
declare const __MUSTER_BUNDLE__: boolean | undefined;

export function importModule(url: string): Promise<unknown> {
  const lent = (globalThis as Record<string, unknown>)[LENT] as
    | ((url: string) => Promise<unknown>)
    | undefined;
  if (lent) return lent(url);
  if (typeof __MUSTER_BUNDLE__ !== "undefined")
    throw new InputError(
      "dist/cli.cjs cannot import a config repo's recipes by itself: run muster as bin/muster.js",
    );
  return import(url);
}
