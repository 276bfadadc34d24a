/**
 * The compile phase (Chef's word): run the recipes of the expanded run list to collect the
 * resources they declare, validate every prop, and report every problem at once. Nothing on the
 * host is read or changed here; `muster check` stops after this phase.
 */
import { findSourceMap } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { type Attrs, deepMerge } from "../config/attributes.ts";
import { cookbookOf, expandRunList } from "../config/expand.ts";
import type { NodeInfo, RecipeDefinition, RecipeDsl } from "../config/recipe-api.ts";
import type { ConfigRepo } from "../config/repo.ts";
import { COMMON_KEYS, commonPropsSchema } from "../core/common-props.ts";
import type { DeclaredResource, SourceLocation } from "../core/declared.ts";
import { InputError } from "../core/errors.ts";
import type { CommonProps, ResourceKind } from "../core/resource.ts";
import { closest, zodProblems } from "../core/zod-problems.ts";
import { resourceKinds } from "../resources/index.ts";
import { protectedPathProblem } from "../resources/protected-paths.ts";
import { notificationTargets } from "./notifications.ts";

export interface CompiledRun {
  role: string;
  roles: string[];
  recipes: string[];
  attrs: Attrs;
  resources: DeclaredResource[];
}

export interface CompileInput {
  repo: ConfigRepo;
  recipes: Map<string, RecipeDefinition>;
  role: string;
  environment?: string;
  /** --attr flags, already parsed, in order */
  attrFlags?: Attrs[];
  node: Omit<NodeInfo, "role">;
  /**
   * "shutdown": the recipes of the role's shutdown run list (`muster watch`, as the server
   * departs), with the attributes its run list gives, so they see the node as the boot did
   */
  runList?: "run" | "shutdown";
}

export function compileRun(input: CompileInput): CompiledRun {
  const { repo } = input;
  if (!repo.roles.has(input.role)) {
    const known = [...repo.roles.keys()].sort().join(", ") || "none";
    const hint = closest(input.role, repo.roles.keys());
    throw new InputError(
      `--role ${input.role}: no roles/${input.role}.json or .yaml in ${repo.dir}${hint ? `; did you mean "${hint}"?` : ""} (roles: ${known})`,
    );
  }
  const expansion = expandRunList(
    repo.roles,
    [{ type: "role", name: input.role }],
    input.environment,
    "--role",
  );
  const recipesToRun =
    input.runList === "shutdown"
      ? expandRunList(
          repo.roles,
          [{ type: "role", name: input.role }],
          input.environment,
          "--role",
          "shutdown",
        ).recipes
      : expansion.recipes;
  let attrs: Attrs = {};
  for (const cookbook of new Set([...expansion.recipes, ...recipesToRun].map(cookbookOf)))
    attrs = deepMerge(attrs, repo.cookbookAttributes.get(cookbook) ?? {});
  attrs = deepMerge(attrs, expansion.defaultAttributes);
  attrs = deepMerge(attrs, expansion.overrideAttributes);
  for (const flag of input.attrFlags ?? []) attrs = deepMerge(attrs, flag);

  const resources: DeclaredResource[] = [];
  const problems: string[] = [];
  const ran: string[] = [];
  const node: NodeInfo = { ...input.node, role: input.role };

  const runRecipe = (name: string, from: string) => {
    if (ran.includes(name)) return;
    const def = input.recipes.get(name);
    if (!def) {
      const hint = closest(name, input.recipes.keys());
      problems.push(`${from}: unknown recipe "${name}"${hint ? `; did you mean "${hint}"?` : ""}`);
      return;
    }
    ran.push(name);
    const dsl = makeDsl(name, attrs, node, repo.dir, resources, problems, (inc, loc) =>
      runRecipe(inc, loc ? `${loc.file}:${loc.line}` : `recipe ${name}`),
    );
    try {
      def.fn(dsl);
    } catch (err) {
      if (err instanceof InputError) problems.push(...err.problems);
      else {
        const loc = locationOf(err as Error, repo.dir);
        const rel = path.relative(repo.dir, input.repo.recipeFiles.get(name) ?? name);
        problems.push(
          `${loc ? `${loc.file}:${loc.line}` : rel}: recipe "${name}" threw: ${(err as Error).message}`,
        );
      }
    }
  };
  for (const name of recipesToRun) runRecipe(name, `roles/${input.role}`);
  problems.push(...duplicateProblems(resources), ...notificationProblems(resources));
  if (problems.length > 0) throw new InputError(problems);
  return { role: input.role, roles: expansion.roles, recipes: ran, attrs, resources };
}

function makeDsl(
  recipeName: string,
  attrs: Attrs,
  node: NodeInfo,
  repoDir: string,
  resources: DeclaredResource[],
  problems: string[],
  include: (name: string, loc?: SourceLocation) => void,
): RecipeDsl {
  const declare =
    (kindName: string) =>
    (name: string, rawProps: Record<string, unknown> = {}) => {
      const source = callerLocation(repoDir);
      const where = source ? `${source.file}:${source.line}` : `recipe ${recipeName}`;
      const kind = resourceKinds[kindName] as ResourceKind | undefined;
      if (!kind) {
        problems.push(
          `${where}: ${kindName}[${name}]: the ${kindName} resource is not available in this muster`,
        );
        return `${kindName}[${name}]`;
      }
      const { common, own } = splitProps(kind, rawProps);
      const props = { [kind.nameProp]: name, ...own };
      const label = `${kindName}[${name}]`;
      if (typeof name !== "string" || name === "")
        problems.push(`${where}: ${kindName}(): the first argument is the resource's name`);
      const c = commonPropsSchema.safeParse(common);
      if (!c.success) problems.push(...zodProblems(`${where}: ${label}`, c.error));
      // a name is printed in every report and log: a sensitive command must not be the name
      if (c.success && c.data.sensitive && kind.nameProp === "command" && own.command === undefined) {
        problems.push(
          `${where}: ${kindName}(): sensitive, but its command is its name, which every report and log shows; give it a plain name and the command in command:`,
        );
        return `${kindName}[(sensitive)]`;
      }
      const r = kind.schema.safeParse(props);
      if (!r.success) {
        const lines = zodProblems(`${where}: ${label}`, r.error);
        // a sensitive resource's values are never shown, in a problem neither
        const sensitive = c.success && c.data.sensitive === true;
        problems.push(...(sensitive ? lines.map((l) => l.replace(/ \(got .*\)$/, "")) : lines));
        return label;
      }
      const id = kind.id(r.data, name);
      const protectedPath = protectedPathProblem(kindName, r.data as Record<string, unknown>);
      if (protectedPath) problems.push(`${where}: ${id}: ${protectedPath}`);
      if (kind.validate) {
        try {
          problems.push(...kind.validate(r.data, repoDir).map((p) => `${where}: ${id}: ${p}`));
        } catch (err) {
          problems.push(`${where}: ${id}: ${(err as Error).message}`);
        }
      }
      resources.push({
        kind: kindName,
        name,
        props: r.data as Record<string, unknown>,
        common: (c.success ? c.data : {}) as CommonProps,
        id,
        recipe: recipeName,
        source,
      });
      return id;
    };
  return {
    attrs,
    node,
    directory: declare("directory"),
    file: declare("file"),
    template: declare("template"),
    link: declare("link"),
    execute: declare("execute"),
    git: declare("git"),
    package: declare("package"),
    service: declare("service"),
    user: declare("user"),
    group: declare("group"),
    include: (name: string) => include(name, callerLocation(repoDir)),
  } as RecipeDsl;
}

/** Common props go to the runner; `sensitive` also reaches kinds whose schema knows it. */
function splitProps(kind: ResourceKind, raw: Record<string, unknown>) {
  const shape = (kind.schema as unknown as { shape?: Record<string, unknown> }).shape ?? {};
  const common: Record<string, unknown> = {};
  const own: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (COMMON_KEYS.has(k)) {
      common[k] = v;
      if (k in shape) own[k] = v;
    } else own[k] = v;
  }
  return { common, own };
}

/** The first stack frame inside the config repo: where a recipe declared something. */
export function locationOf(err: Error, repoDir: string): SourceLocation | undefined {
  for (const line of (err.stack ?? "").split("\n").slice(1)) {
    const m = /\(?(?:file:\/\/)?(\/[^():]+):(\d+):\d+\)?$/.exec(line.trim());
    if (!m) continue;
    const rel = path.relative(repoDir, m[1]);
    if (!rel.startsWith("..") && !path.isAbsolute(rel) && !rel.includes("node_modules"))
      return { file: rel, line: Number(m[2]) };
  }
  return undefined;
}

/**
 * Where a recipe called the DSL: the first stack frame inside the config repo, as locationOf
 * finds it in an error's stack. It is asked once per declared resource, so it reads V8's call
 * sites and maps only the frames it looks at through their source maps: formatting a whole
 * source-mapped stack as text for every resource was most of the compile phase's time.
 */
export function callerLocation(repoDir: string): SourceLocation | undefined {
  const saved = Error.prepareStackTrace; // Node 20 has a default one: it is restored, not skipped
  let sites: NodeJS.CallSite[] = [];
  try {
    Error.prepareStackTrace = (_err, callSites) => callSites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, callerLocation);
    sites = holder.stack ?? []; // read while the override is in place: the stack is made lazily
  } finally {
    Error.prepareStackTrace = saved;
  }
  for (const site of sites) {
    const file = site.getFileName();
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if (!file || line === null || column === null || file.startsWith("node:")) continue;
    // a loop in a recipe declares from one call site many times: map each frame once
    const key = `${repoDir}\0${file}:${line}:${column}`;
    let found = frameLocations.get(key);
    if (found === undefined) {
      found = frameLocation(file, line, column, repoDir);
      frameLocations.set(key, found);
    }
    if (found) return found;
  }
  // a test runner may load the recipe bundle through its own loader, with source maps only its
  // stack formatter knows: ask that formatter (slow, and only when the call sites found nothing)
  return saved !== undefined ? locationOf(new Error(), repoDir) : undefined;
}

const frameLocations = new Map<string, SourceLocation | null>();

/** A stack frame's place in the config repo, through its source map; null when outside it. */
function frameLocation(file: string, line: number, column: number, repoDir: string): SourceLocation | null {
  // recipes run only as the esbuild bundle, which carries its source map: a frame Node has no
  // map for is not a recipe's (or another loader ran the bundle: callerLocation falls back)
  const map = findSourceMap(file);
  if (!map) return null;
  const entry = map.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number };
  if (entry.originalSource === undefined || entry.originalLine === undefined) return null;
  const source = entry.originalSource;
  const sourceLine = entry.originalLine + 1;
  const abs = source.startsWith("file://") ? fileURLToPath(source) : source;
  const rel = path.relative(repoDir, abs);
  if (!rel.startsWith("..") && !path.isAbsolute(rel) && !rel.includes("node_modules"))
    return { file: rel, line: sourceLine };
  return null;
}

/**
 * The actions a notification may ask of a resource of `kind`: its own, and refresh where a
 * notification refreshes by default (a service); execute's notifications run it.
 */
export function notifiableActions(kind: ResourceKind): string[] {
  const refresh = kind.refresh && (kind.defaultNotifyAction ?? "refresh") === "refresh";
  return [...new Set([...kind.actions, ...(refresh ? ["refresh"] : [])])];
}

/**
 * One id declared twice with other props (two `execute("reload", ...)` with different commands,
 * a file with two contents): only the first would ever run, and notifications by that id would
 * reach it alone. The same declaration twice (two recipes ensuring /srv) is fine.
 */
function duplicateProblems(resources: DeclaredResource[]): string[] {
  const first = new Map<string, DeclaredResource>();
  const problems: string[] = [];
  const where = (r: DeclaredResource) =>
    r.source ? `${r.source.file}:${r.source.line}` : `recipe ${r.recipe}`;
  for (const r of resources) {
    const seen = first.get(r.id);
    if (!seen) {
      first.set(r.id, r);
      continue;
    }
    // deep, and key order does not matter ({ A, B } and { B, A } are one environment)
    if (!isDeepStrictEqual(seen.props, r.props))
      problems.push(
        `${where(r)}: ${r.id}: declared again with other props (first at ${where(seen)}); give each its own name, or declare it once`,
      );
  }
  return problems;
}

function notificationProblems(resources: DeclaredResource[]): string[] {
  const byId = new Map(resources.map((r) => [r.id, r]));
  const problems: string[] = [];
  for (const r of resources) {
    for (const [field, spec] of [
      ["notifies", r.common.notifies],
      ["subscribes", r.common.subscribes],
    ] as const) {
      for (const t of notificationTargets(spec)) {
        const where = r.source ? `${r.source.file}:${r.source.line}` : `recipe ${r.recipe}`;
        const target = byId.get(t.resource);
        if (!target) {
          const hint = closest(t.resource, byId.keys());
          problems.push(
            `${where}: ${r.id}: ${field}: no resource ${t.resource} in this run${hint ? `; did you mean ${hint}?` : ""}`,
          );
          continue;
        }
        // subscribes asks the subscriber to act, notifies the target
        const acting = field === "notifies" ? target : r;
        const actions = notifiableActions(resourceKinds[acting.kind] as ResourceKind);
        if (t.action !== undefined && !actions.includes(t.action)) {
          const hint = closest(t.action, actions);
          problems.push(
            `${where}: ${r.id}: ${field}: ${acting.kind} has no action "${t.action}"${hint ? `; did you mean "${hint}"?` : ""} (its actions: ${actions.join(", ")})`,
          );
        }
      }
    }
  }
  return problems;
}
