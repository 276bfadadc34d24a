/**
 * import() of a module muster did not bundle: a config repo's compiled recipes.
 *
 * bin/muster.js compiles dist/cli.cjs from V8's code cache, and on Node 20 a script compiled from
 * cached data has lost its import() callback: import() in it fails with "A dynamic import
 * callback was not specified". So the bundle makes no import() of its own (it is built with
 * dynamic import turned into require, which is right for everything bundled and for Node's
 * builtins) and bin/muster.js lends its own import() on globalThis. Run from the sources (tsx,
 * vitest) nothing is lent, and plain import() is used.
 */
const LENT = "__musterImport";

export function importModule(url: string): Promise<unknown> {
  const lent = (globalThis as Record<string, unknown>)[LENT] as
    | ((url: string) => Promise<unknown>)
    | undefined;
  return lent ? lent(url) : import(url);
}
