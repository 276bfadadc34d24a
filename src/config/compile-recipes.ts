/**
 * Recipes are TypeScript compiled at run time with esbuild, so users need no build step. All of
 * a repo's recipes go into one bundle (imports between recipes and from the repo's node_modules
 * are resolved by esbuild), cached by the hash of its inputs. The bare import "muster" (or
 * "muster-fleet", the package's name) resolves to the running muster through a virtual module, so a config repo needs no node_modules of its
 * own. The bundle carries a source map, so a resource's declaration maps back to recipe:line.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { InputError } from "../core/errors.ts";
import { importModule } from "../core/import-module.ts";
import { VERSION } from "../version.ts";
import { loadEsbuild } from "./load-esbuild.ts";
import { isRecipe, type RecipeDefinition, recipe } from "./recipe-api.ts";
import { recipeCacheDir } from "./recipe-cache-dir.ts";
import type { ConfigRepo } from "./repo.ts";

const RUNTIME_KEY = "__musterRuntime";
/** the names a recipe imports muster's API by */
const RECIPE_API_IMPORT = /^muster(-fleet)?$/;
(globalThis as Record<string, unknown>)[RUNTIME_KEY] = { recipe };

export interface CompileOptions {
  /** where bundles are cached (default: this user's private directory in the OS temp dir) */
  cacheDir?: string;
}

/**
 * Start esbuild's service (its own process, some 15 ms before it answers) and load its API, so a
 * compile soon after finds both ready: the boot calls this while git fetches the config repo.
 * Never fails: the compile itself reports what is wrong.
 */
export function warmRecipeCompiler(): void {
  try {
    loadEsbuild()
      .transform("", {})
      .catch(() => {});
  } catch {}
}

export async function compileRecipes(
  repo: ConfigRepo,
  opts: CompileOptions = {},
): Promise<Map<string, RecipeDefinition>> {
  const names = [...repo.recipeFiles.keys()].sort();
  if (names.length === 0) return new Map();
  const entry =
    names.map((n, i) => `import r${i} from ${JSON.stringify(repo.recipeFiles.get(n))};`).join("\n") +
    `\nexport default { ${names.map((n, i) => `${JSON.stringify(n)}: r${i}`).join(", ")} };\n`;
  const cacheDir = opts.cacheDir ?? recipeCacheDir();
  const out = freshBundle(repo, entry, cacheDir) ?? (await bundle(repo, entry, cacheDir));
  process.setSourceMapsEnabled(true);
  let mod: { default: Record<string, unknown> };
  try {
    mod = (await importModule(pathToFileURL(out).href)) as typeof mod;
  } catch (err) {
    throw new InputError(loadProblem(err, repo.dir));
  }
  const recipes = new Map<string, RecipeDefinition>();
  const problems: string[] = [];
  for (const name of names) {
    const def = mod.default[name];
    const rel = path.relative(repo.dir, repo.recipeFiles.get(name)!);
    if (!isRecipe(def)) {
      problems.push(`${rel}: the default export must be recipe("${name}", ...) imported from "muster"`);
      continue;
    }
    if (def.name !== name) {
      problems.push(`${rel}: recipe("${def.name}") does not match its file; name it "${name}"`);
      continue;
    }
    recipes.set(name, def);
  }
  if (problems.length > 0) throw new InputError(problems);
  return recipes;
}

/**
 * The cache: `<key>.json` (key = hash of the entry, Node's and muster's versions) lists every
 * file the last bundle was built from (esbuild's metafile: recipes, the modules they import,
 * packages from node_modules) with its content hash. The bundle is reused only while all match.
 */
function freshBundle(repo: ConfigRepo, entry: string, cacheDir: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath(cacheDir, entry), "utf8")) as Manifest;
    for (const [file, hash] of Object.entries(manifest.inputs))
      if (fileHash(path.resolve(repo.dir, file)) !== hash) return undefined;
    const out = path.join(cacheDir, manifest.bundle);
    return existsSync(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

interface Manifest {
  inputs: Record<string, string>;
  bundle: string;
}

function manifestPath(cacheDir: string, entry: string): string {
  const key = createHash("sha256")
    .update(entry)
    .update(process.version)
    .update(VERSION)
    .digest("hex")
    .slice(0, 24);
  return path.join(cacheDir, `${key}.json`);
}

function fileHash(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

async function bundle(repo: ConfigRepo, entry: string, cacheDir: string): Promise<string> {
  const esbuild = loadEsbuild();
  mkdirSync(cacheDir, { recursive: true });
  const out = path.join(cacheDir, "bundle.mjs"); // esbuild's notional output, for the source map
  try {
    const result = await esbuild.build({
      stdin: { contents: entry, resolveDir: repo.dir, sourcefile: "muster-recipes-entry.js", loader: "js" },
      absWorkingDir: repo.dir, // error locations relative to the repo: "recipes/web.ts"
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      sourcemap: "inline",
      write: false,
      metafile: true,
      logLevel: "silent",
      outfile: out,
      plugins: [
        {
          name: "muster-runtime",
          setup(build) {
            build.onResolve({ filter: RECIPE_API_IMPORT }, () => ({
              path: "muster",
              namespace: "muster-runtime",
            }));
            build.onLoad({ filter: /.*/, namespace: "muster-runtime" }, () => ({
              contents: `export const recipe = globalThis.${RUNTIME_KEY}.recipe;`,
              loader: "js",
            }));
          },
        },
      ],
    });
    const inputs: Record<string, string> = {};
    for (const input of Object.keys(result.metafile.inputs)) {
      // virtual modules (muster-runtime:muster, the generated entry) have no file to hash
      if (input.includes(":") || input === "muster-recipes-entry.js") continue;
      inputs[input] = fileHash(path.resolve(repo.dir, input));
    }
    const code = result.outputFiles[0].contents;
    const name = `${createHash("sha256").update(code).digest("hex").slice(0, 24)}.mjs`;
    // write-then-rename, so a concurrent run never imports half a bundle
    const tmp = path.join(cacheDir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, code);
    renameSync(tmp, path.join(cacheDir, name));
    const manifest: Manifest = { inputs, bundle: name };
    const mtmp = `${manifestPath(cacheDir, entry)}.${process.pid}.tmp`;
    writeFileSync(mtmp, JSON.stringify(manifest));
    renameSync(mtmp, manifestPath(cacheDir, entry));
    return path.join(cacheDir, name);
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors;
    if (!errors) throw err;
    throw new InputError(errors.map((e) => buildProblem(e)));
  }
}

/**
 * A recipe module that throws as it loads (code at its top level, outside recipe()) is the
 * repository's mistake, not muster's: one line naming the file and line, from the stack, which
 * the bundle's source map maps back to the recipe.
 */
export function loadProblem(err: unknown, repoDir: string): string {
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0];
  const stack = err instanceof Error ? (err.stack ?? "") : "";
  for (const m of stack.matchAll(/\(?(?:file:\/\/)?(\/[^():\s]+):(\d+):\d+\)?$/gm)) {
    const file = m[1]!;
    if (file.startsWith(`${repoDir}/`) && !file.includes("/node_modules/"))
      return `${path.relative(repoDir, file)}:${m[2]}: ${message} (as the recipe loads, outside recipe())`;
  }
  return `recipes: ${message} (as the recipes load)`;
}

/**
 * esbuild's error as muster's line. The entry that imports every recipe is muster's, not the
 * user's: an error there (a recipe with no default export) is told about the recipe file.
 */
export function buildProblem(e: { text: string; location?: { file: string; line: number } | null }): string {
  if (!e.location) return e.text;
  if (e.location.file === "muster-recipes-entry.js") {
    const noDefault = /^No matching export in "([^"]+)" for import "default"$/.exec(e.text);
    if (noDefault) {
      const name = path.basename(noDefault[1]!).replace(/\.[cm]?[jt]s$/, "");
      return `${noDefault[1]}: has no default export; end it with export default recipe("${name}", ...)`;
    }
    return `recipes: ${e.text}`;
  }
  // the DSL's package() shares its name with a word strict mode reserves
  const hint = /"package" is a reserved word|strict mode reserved word/.test(e.text)
    ? "; take it under another name: ({ package: pkg }) and pkg(...)"
    : "";
  return `${e.location.file}:${e.location.line}: ${e.text}${hint}`;
}
