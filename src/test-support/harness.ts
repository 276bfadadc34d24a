/**
 * Converge a handful of resources into a root without a config repo: the contract suite and the
 * resource tests use it. Props are validated by the kind's schema exactly as in a real run.
 */
import type { DeclaredResource } from "../core/declared.ts";
import type { CommonProps, ResourceContext, ResourceKind } from "../core/resource.ts";
import { exec as realExec } from "../host/exec.ts";
import { idResolver } from "../host/ids.ts";
import { RootFs } from "../host/root-fs.ts";
import { resourceKinds } from "../resources/index.ts";
import type { CompiledRun } from "../runner/compile.ts";
import { converge } from "../runner/converge.ts";
import type { RunReport } from "../runner/report.ts";

export interface Decl {
  kind: string;
  name: string;
  props?: Record<string, unknown>;
  common?: CommonProps;
}

export function declare(decls: Decl[]): DeclaredResource[] {
  return decls.map((d) => {
    const kind = resourceKinds[d.kind] as ResourceKind;
    const props = kind.schema.parse({ [kind.nameProp]: d.name, ...d.props }) as Record<string, unknown>;
    return {
      kind: d.kind,
      name: d.name,
      props,
      common: d.common ?? {},
      id: kind.id(props, d.name),
      recipe: "test",
    };
  });
}

export function testContext(
  root: string,
  repoDir = root,
  overrides: Partial<ResourceContext> = {},
): ResourceContext {
  const progress: string[] = [];
  return {
    fs: new RootFs(root),
    exec: realExec,
    repoDir,
    dryRun: false,
    log: { info() {}, warn() {}, progress: (m) => progress.push(m) },
    env: process.env,
    ids: idResolver(root),
    ...overrides,
  };
}

export async function convergeDecls(
  root: string,
  decls: Decl[],
  opts: { dryRun?: boolean; repoDir?: string; ctx?: Partial<ResourceContext> } = {},
): Promise<RunReport> {
  const run: CompiledRun = {
    role: "test",
    roles: [],
    recipes: ["test"],
    attrs: {},
    resources: declare(decls),
  };
  const ctx = testContext(root, opts.repoDir ?? root, { dryRun: opts.dryRun ?? false, ...opts.ctx });
  return converge(run, ctx, { dryRun: opts.dryRun ?? false });
}
