/**
 * Reading a config repository: roles, recipe files, cookbook attributes. Every problem is
 * collected and reported at once, each naming its file and field.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { parseDataText, readTextFile } from "../core/data-file.ts";
import { InputError } from "../core/errors.ts";
import type { z } from "../core/zod.ts";
import { closest, zodProblems } from "../core/zod-problems.ts";
import type { Attrs } from "./attributes.ts";
import {
  chefRoleSchema,
  musterRoleSchema,
  parseRunListItem,
  type Role,
  type RunListItem,
} from "./role-schema.ts";

export interface ConfigRepo {
  dir: string;
  roles: Map<string, Role>;
  /** recipe name ("base", "nginx::site") -> absolute file */
  recipeFiles: Map<string, string>;
  /** cookbook -> its default attributes */
  cookbookAttributes: Map<string, Attrs>;
}

const DATA_EXT = [".json", ".yaml", ".yml"];

/**
 * Read a config repo. Problems throw one InputError listing them all, unless `collect` is given:
 * then they are pushed there and what could be read is returned (`muster check` goes on with it).
 */
export function loadConfigRepo(dir: string, collect?: string[]): ConfigRepo {
  const abs = path.resolve(dir);
  if (!existsSync(abs)) throw new InputError(`--repo ${dir}: config repository directory does not exist`);
  if (!statSync(abs).isDirectory())
    throw new InputError(`--repo ${dir}: a file, not a directory; give the config repository's directory`);
  if (!existsSync(path.join(abs, "roles")) && !existsSync(path.join(abs, "recipes")))
    throw new InputError(`--repo ${dir}: not a config repository (no roles/ or recipes/ directory)`);
  // a file where a directory belongs would otherwise fail in readdir, naming nothing
  const notDirs = ["roles", "recipes", "attributes"].filter(
    (d) => existsSync(path.join(abs, d)) && !statSync(path.join(abs, d)).isDirectory(),
  );
  if (notDirs.length > 0)
    throw new InputError(
      notDirs.map((d) => `${d}: a file, not a directory; the config repository keeps its ${d} in ${d}/`),
    );
  const problems: string[] = [];
  const recipeFiles = findRecipes(abs);
  const unreadable = new Set<string>();
  const roles = loadRoles(abs, problems, unreadable);
  const cookbookAttributes = loadCookbookAttributes(abs, problems);
  for (const role of roles.values()) problems.push(...runListProblems(role, recipeFiles, roles, unreadable));
  if (collect) collect.push(...problems);
  else if (problems.length > 0) throw new InputError(problems);
  return { dir: abs, roles, recipeFiles, cookbookAttributes };
}

function findRecipes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const recipesDir = path.join(dir, "recipes");
  if (!existsSync(recipesDir)) return out;
  for (const entry of readdirSync(recipesDir, { withFileTypes: true })) {
    if (entry.isFile() && /\.[mc]?[tj]s$/.test(entry.name) && !entry.name.endsWith(".d.ts"))
      out.set(entry.name.replace(/\.[mc]?[tj]s$/, ""), path.join(recipesDir, entry.name));
    if (entry.isDirectory()) {
      for (const sub of readdirSync(path.join(recipesDir, entry.name))) {
        if (!/\.[mc]?[tj]s$/.test(sub) || sub.endsWith(".d.ts")) continue;
        const base = sub.replace(/\.[mc]?[tj]s$/, "");
        const name = base === "default" ? entry.name : `${entry.name}::${base}`;
        out.set(name, path.join(recipesDir, entry.name, sub));
      }
    }
  }
  return out;
}

export function parseDataFile(file: string, rel: string): unknown {
  return parseDataText(readTextFile(file, rel), file.endsWith(".json"), rel);
}

/** `unreadable` gets the names of role files that are there but could not be read as roles. */
function loadRoles(dir: string, problems: string[], unreadable: Set<string>): Map<string, Role> {
  const roles = new Map<string, Role>();
  /** the file each role came from: a second file of the same name (web.json, web.yaml) names the first */
  const fileOf = new Map<string, string>();
  const rolesDir = path.join(dir, "roles");
  if (!existsSync(rolesDir)) return roles;
  for (const name of readdirSync(rolesDir).sort()) {
    const ext = path.extname(name);
    if (!DATA_EXT.includes(ext)) continue;
    const rel = `roles/${name}`;
    let data: unknown;
    try {
      data = parseDataFile(path.join(rolesDir, name), rel);
    } catch (err) {
      problems.push((err as Error).message);
      unreadable.add(path.basename(name, ext));
      continue;
    }
    const role = normaliseRole(data, rel, problems);
    if (!role) {
      unreadable.add(path.basename(name, ext));
      continue;
    }
    const fileName = path.basename(name, ext);
    if (role.name !== fileName) {
      problems.push(`${rel}: name: "${role.name}" does not match the file name; rename one to "${fileName}"`);
      continue;
    }
    const first = fileOf.get(role.name);
    if (first !== undefined) {
      problems.push(
        `${rel}: role "${role.name}" is defined twice (also in ${first}); keep one of the two files`,
      );
      continue;
    }
    fileOf.set(role.name, rel);
    roles.set(role.name, role);
  }
  return roles;
}

function normaliseRole(data: unknown, rel: string, problems: string[]): Role | undefined {
  const isChef = typeof data === "object" && data !== null && ("run_list" in data || "json_class" in data);
  const before = problems.length;
  const items = (list: string[], field: string): RunListItem[] =>
    list.flatMap((entry, i) => {
      const item = parseRunListItem(entry);
      if (!item)
        problems.push(`${rel}: ${field}[${i}]: "${entry}" is not recipe[name], role[name] or a recipe name`);
      return item ? [item] : [];
    });
  if (isChef) {
    const r = chefRoleSchema.safeParse(data);
    if (!r.success) return refuse(r.error);
    const d = r.data;
    return build(
      {
        name: d.name,
        description: d.description,
        runList: d.run_list,
        envRunLists: d.env_run_lists,
        shutdownRunList: d.shutdown_run_list,
        defaultAttributes: d.default_attributes,
        overrideAttributes: d.override_attributes,
      },
      "chef",
    );
  }
  const r = musterRoleSchema.safeParse(data);
  return r.success ? build(r.data, "muster") : refuse(r.error);

  function refuse(error: z.ZodError): undefined {
    problems.push(...zodProblems(rel, error, [], "field"));
    return undefined;
  }

  /** The role from either form's fields (named as muster's); problems name the form's own fields. */
  function build(d: z.infer<typeof musterRoleSchema>, format: Role["format"]): Role | undefined {
    const field = (muster: string) =>
      format === "chef" ? muster.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : muster;
    const role: Role = {
      name: d.name,
      description: d.description,
      runList: items(d.runList, field("runList")),
      envRunLists: Object.fromEntries(
        Object.entries(d.envRunLists ?? {}).map(([env, l]) => [
          env,
          items(l, `${field("envRunLists")}.${env}`),
        ]),
      ),
      shutdownRunList: items(d.shutdownRunList ?? [], field("shutdownRunList")),
      defaultAttributes: d.defaultAttributes ?? {},
      overrideAttributes: d.overrideAttributes ?? {},
      file: rel,
      format,
    };
    return problems.length === before ? role : undefined;
  }
}

function runListProblems(
  role: Role,
  recipes: Map<string, string>,
  roles: Map<string, Role>,
  // a role whose own file has a problem is not "unknown" here too: its file's line says it once
  unreadable: Set<string>,
): string[] {
  const problems: string[] = [];
  const field = role.format === "chef" ? "run_list" : "runList";
  const check = (list: RunListItem[], label: string) =>
    list.forEach((item, i) => {
      const known = item.type === "recipe" ? recipes : roles;
      if (known.has(item.name) || (item.type === "role" && unreadable.has(item.name))) return;
      const hint = closest(item.name, known.keys());
      problems.push(
        `${role.file}: ${label}[${i}]: unknown ${item.type} "${item.name}"${hint ? `; did you mean "${hint}"?` : ""}`,
      );
    });
  check(role.runList, field);
  check(role.shutdownRunList, role.format === "chef" ? "shutdown_run_list" : "shutdownRunList");
  for (const [env, list] of Object.entries(role.envRunLists))
    check(list, `${field === "run_list" ? "env_run_lists" : "envRunLists"}.${env}`);
  return problems;
}

function loadCookbookAttributes(dir: string, problems: string[]): Map<string, Attrs> {
  const out = new Map<string, Attrs>();
  const fileOf = new Map<string, string>();
  const attrDir = path.join(dir, "attributes");
  if (!existsSync(attrDir)) return out;
  for (const name of readdirSync(attrDir).sort()) {
    const ext = path.extname(name);
    if (!DATA_EXT.includes(ext)) continue;
    const rel = `attributes/${name}`;
    try {
      const data = parseDataFile(path.join(attrDir, name), rel);
      if (typeof data !== "object" || data === null || Array.isArray(data)) {
        problems.push(`${rel}: (top level): expected an object of attributes`);
        continue;
      }
      const cookbook = path.basename(name, ext);
      const first = fileOf.get(cookbook);
      if (first !== undefined) {
        // one would silently replace the other: which one wins is only the order of the names
        problems.push(
          `${rel}: the attributes of "${cookbook}" are defined twice (also in ${first}); merge them into one file`,
        );
        continue;
      }
      fileOf.set(cookbook, rel);
      out.set(cookbook, data as Attrs);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return out;
}
