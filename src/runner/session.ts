/**
 * One whole converge as `muster converge` and `muster boot` run it: load the config repo,
 * compile recipes and the run, take the root's lock, converge, log. Input problems surface as
 * InputError before anything on the host is touched.
 */

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import * as path from "node:path";
import type { Attrs } from "../config/attributes.ts";
import { compileRecipes } from "../config/compile-recipes.ts";
import { loadConfigRepo } from "../config/repo.ts";
import { type DeclaredResource, where } from "../core/declared.ts";
import { InputError } from "../core/errors.ts";
import type { Logger, ResourceContext, ResourceKind } from "../core/resource.ts";
import { exec } from "../host/exec.ts";
import { realPath } from "../host/host-files.ts";
import { idResolver } from "../host/ids.ts";
import { readPlatform } from "../host/platform.ts";
import { RootFs } from "../host/root-fs.ts";
import { readHeadFromFiles } from "../resources/git-local.ts";
import { resourceKinds } from "../resources/index.ts";
import { compileRun } from "./compile.ts";
import { converge } from "./converge.ts";
import { acquireLock } from "./lock.ts";
import type { ResourceResult, RunReport } from "./report.ts";
import { openRunLog } from "./run-log.ts";

export interface SessionOptions {
  repoDir: string;
  role: string;
  root: string;
  dryRun?: boolean;
  environment?: string;
  attrFlags?: Attrs[];
  /** extra facts for recipes (node.instance), set by boot */
  instance?: Record<string, unknown>;
  lockWaitMs?: number;
  runId?: string;
  onResult?: (r: ResourceResult) => void;
  onProgress?: (msg: string) => void;
  /** once the input is known good (repo, role, recipes, attributes), before anything is touched */
  onStart?: () => void;
  env?: Record<string, string | undefined>;
  /**
   * Paths inside the root no resource may manage, with why: the boot's gate file, which only
   * the boot writes, last, when everything has succeeded (a recipe writing ping.html itself, the
   * old way, would put a half-configured server in service).
   */
  reserved?: Array<{ path: string; why: string }>;
  /** "shutdown": converge the role's shutdown run list instead of its run list (`muster watch`) */
  runList?: "run" | "shutdown";
}

/** PURE: one problem per declared resource whose path is a reserved one. */
export function reservedPathProblems(
  resources: readonly DeclaredResource[],
  reserved: ReadonlyArray<{ path: string; why: string }>,
): string[] {
  const problems: string[] = [];
  for (const r of resources) {
    const kind = resourceKinds[r.kind] as ResourceKind | undefined;
    if (!kind?.pathName) continue;
    const own = path.posix.normalize(String(r.props[kind.nameProp]));
    const hit = reserved.find((x) => path.posix.normalize(x.path) === own);
    if (hit) problems.push(`${where(r)}: ${r.id}: ${hit.why}: remove this resource`);
  }
  return problems;
}

export async function convergeSession(opts: SessionOptions): Promise<RunReport> {
  const fs = new RootFs(opts.root);
  const repo = loadConfigRepo(opts.repoDir);
  const configHeadP = gitHead(repo.dir); // a child process: let it run while recipes compile
  const recipes = await compileRecipes(repo);
  const run = compileRun({
    repo,
    recipes,
    role: opts.role,
    environment: opts.environment,
    attrFlags: opts.attrFlags,
    node: {
      hostname: hostname(),
      root: fs.root,
      platform: readPlatform(fs),
      environment: opts.environment,
      instance: opts.instance,
    },
    runList: opts.runList,
  });
  const reserved = reservedPathProblems(run.resources, opts.reserved ?? []);
  if (reserved.length > 0) throw new InputError(reserved);
  opts.onStart?.();
  const runId = opts.runId ?? randomUUID();
  const { revision: configRevision, subdir: configSubdir } = await configHeadP;
  // a dry run leaves the target untouched: no lock file, no log under the root
  const lock = opts.dryRun
    ? { release() {} }
    : await acquireLock(path.join(fs.root, "var/lib/muster/converge.lock"), opts.lockWaitMs ?? 30_000);
  const log = opts.dryRun
    ? { event() {}, flush() {}, close() {} }
    : openRunLog(fs.root, "converge.log", { runId });
  try {
    log.event("run.start", {
      role: run.role,
      recipes: run.recipes,
      dryRun: opts.dryRun ?? false,
      configRevision,
      configSubdir,
    });
    const logger: Logger = {
      info: (msg, f) => log.event("info", { msg, ...f }),
      warn: (msg, f) => log.event("warn", { msg, ...f }),
      progress: (msg) => {
        log.event("progress", { msg });
        opts.onProgress?.(msg);
      },
    };
    const ctx: ResourceContext = {
      fs,
      exec,
      repoDir: repo.dir,
      dryRun: opts.dryRun ?? false,
      log: logger,
      env: opts.env ?? process.env,
      ids: idResolver(fs.root),
    };
    const report = await converge(run, ctx, {
      dryRun: opts.dryRun ?? false,
      configRevision,
      configSubdir,
      runId,
      onResult: (r) => {
        if (r.status !== "up-to-date") log.event("resource", { ...r });
        opts.onResult?.(r);
      },
    });
    log.event("run.end", {
      outcome: report.outcome,
      totals: report.totals,
      durationMs: report.durationMs,
      error: report.error,
      appRevision: report.appRevision,
    });
    return report;
  } finally {
    log.close();
    lock.release();
  }
}

/**
 * The config repo's commit: its own working tree's HEAD, or, for a directory inside a larger
 * repository (examples/config-repo in muster's own), that repository's HEAD and the directory's
 * path in it, since the commit alone would not say which part of the tree was converged.
 */
async function gitHead(dir: string): Promise<{ revision?: string; subdir?: string }> {
  const fromFiles = readHeadFromFiles(dir);
  if (fromFiles) return { revision: fromFiles };
  const res = await exec(["git", "-C", dir, "rev-parse", "--show-toplevel", "HEAD"], {
    timeoutMs: 10_000,
  }).catch(() => undefined);
  if (res?.code !== 0) return {};
  const [top, head] = res.stdout.trim().split("\n");
  if (!top || !head || !/^[0-9a-f]{40,64}$/.test(head)) return {};
  const subdir = path.relative(realPath(top), realPath(dir));
  return subdir === "" ? { revision: head } : { revision: head, subdir };
}
