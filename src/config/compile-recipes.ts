/**
 * Recipes are TypeScript compiled at run time with esbuild, so users need no build step. All of
 * a repo's recipes go into one bundle (imports between recipes and from the repo's node_modules
 * are resolved by esbuild), cached by the hash of its inputs. The bare import "muster" resolves
 * to the running muster through a virtual module, so a config repo needs no node_modules of its
 * own. The bundle carries a source map, so a resource's declaration maps back to recipe:line.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { InputError } from "../core/errors.ts";
import { isRecipe, type RecipeDefinition, recipe } from "./recipe-api.ts";
import type { ConfigRepo } from "./repo.ts";

const RUNTIME_KEY = "__musterRuntime";
(globalThis as Record<string, unknown>)[RUNTIME_KEY] = { recipe };

export interface CompileOptions {
  /** where bundles are cached (default: the OS temp dir) */
  cacheDir?: string;
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
  const cacheDir = opts.cacheDir ?? path.join(tmpdir(), "muster-recipes");
  const hash = inputHash(repo, entry);
  const out = path.join(cacheDir, `${hash}.mjs`);
  if (!existsSync(out)) await bundle(repo, entry, cacheDir, out);
  process.setSourceMapsEnabled(true);
  const mod = (await import(pathToFileURL(out).href)) as { default: Record<string, unknown> };
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

async function bundle(repo: ConfigRepo, entry: string, cacheDir: string, out: string): Promise<void> {
  const esbuild = await import("esbuild");
  mkdirSync(cacheDir, { recursive: true });
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
      logLevel: "silent",
      outfile: out,
      plugins: [
        {
          name: "muster-runtime",
          setup(build) {
            build.onResolve({ filter: /^muster$/ }, () => ({ path: "muster", namespace: "muster-runtime" }));
            build.onLoad({ filter: /.*/, namespace: "muster-runtime" }, () => ({
              contents: `export const recipe = globalThis.${RUNTIME_KEY}.recipe;`,
              loader: "js",
            }));
          },
        },
      ],
    });
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, result.outputFiles[0].contents);
    renameSync(tmp, out);
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors;
    if (!errors) throw err;
    throw new InputError(
      errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)),
    );
  }
}

function inputHash(repo: ConfigRepo, entry: string): string {
  const h = createHash("sha256");
  h.update(entry);
  for (const file of [...repo.recipeFiles.values()].sort()) h.update(file).update(readFileSync(file));
  for (const extra of ["package-lock.json", "tsconfig.json"]) {
    const p = path.join(repo.dir, extra);
    if (existsSync(p)) h.update(readFileSync(p));
  }
  h.update(process.version);
  return h.digest("hex").slice(0, 24);
}
