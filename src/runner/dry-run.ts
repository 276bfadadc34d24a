/**
 * A dry run's model of what the resources before would have done, since nothing is done: the
 * paths they would make or remove, the users and groups they would create. A resource's apply
 * needs (ResourceKind.dryRunPaths) are checked against it and the host, so a dry run fails where
 * the run would, with the error the run would give, and does not fail where an earlier resource
 * would have cleared the way (a directory deleted before a file is written there).
 */
import * as path from "node:path";
import { errorMessage } from "../core/errors.ts";
import type { DryRunPaths, ResourceContext } from "../core/resource.ts";

export class DryRunModel {
  /** resources reported as would-update so far: their changes are not made in a dry run */
  changesBefore = 0;
  private readonly made = new Set<string>();
  private readonly removed = new Set<string>();
  /** by name: the resource that would create the user or group */
  private readonly users = new Map<string, string>();
  private readonly groups = new Map<string, string>();

  /**
   * The error the apply would give, or undefined; a note for what the dry run cannot know (the id
   * of a user an earlier resource would create). What it would make is noted for the ones after.
   */
  check(ctx: ResourceContext, id: string, d: DryRunPaths): { problem?: string; note?: string } {
    const problem = this.problem(ctx, d);
    if (problem) return { problem };
    const notes: string[] = [];
    for (const [wanted, lookup, made, what] of [
      [d.users, (n: string) => ctx.ids.uid(n), this.users, "user"],
      [d.groups, (n: string) => ctx.ids.gid(n), this.groups, "group"],
    ] as const)
      for (const name of wanted ?? []) {
        if (typeof name === "number") continue;
        const by = made.get(name);
        if (by) {
          notes.push(`would use ${what} ${name}, which ${by} would create`);
          continue;
        }
        try {
          lookup(name);
        } catch (err) {
          return { problem: errorMessage(err).split("\n")[0] };
        }
      }
    for (const r of d.removes ?? []) this.remove(normal(r));
    for (const m of d.makes) this.made.add(normal(m));
    for (const u of d.makesUsers ?? []) this.users.set(u, id);
    for (const g of d.makesGroups ?? []) this.groups.set(g, id);
    return notes.length > 0 ? { note: notes.join("; ") } : {};
  }

  /** The paths' checks, in the order the apply meets them. */
  private problem(ctx: ResourceContext, d: DryRunPaths): string | undefined {
    if (d.refused && !this.gone(normal(d.refused.path))) return d.refused.problem;
    if (d.empty) {
      const dir = normal(d.empty.dir);
      const onHost = ctx.fs.readDir(dir).some((e) => !this.gone(path.posix.join(dir, e)));
      if (onHost || [...this.made].some((m) => m !== dir && parent(m) === dir)) return d.empty.problem;
    }
    if (d.needs && !this.isDir(ctx, normal(d.needs.dir))) return d.needs.problem;
    if (d.ancestors)
      for (let at = parent(normal(d.ancestors.path)); at !== "/"; at = parent(at)) {
        if (this.made.has(at)) break;
        if (this.gone(at)) continue;
        const st = ctx.fs.stat(at);
        if (!st) continue;
        if (st.type !== "directory") return d.ancestors.problem(at, st.type);
        break;
      }
    return undefined;
  }

  /** A directory there: made by an earlier resource, or on the host and not removed. */
  private isDir(ctx: ResourceContext, dir: string): boolean {
    return this.made.has(dir) || (!this.gone(dir) && ctx.fs.stat(dir)?.type === "directory");
  }

  /**
   * Removed by an earlier resource (itself, or a directory above it) and not made again: what was
   * on the host under a directory removed and made again is gone all the same.
   */
  private gone(p: string): boolean {
    if (this.removed.size === 0 || this.made.has(p)) return false;
    for (let at = p; ; at = parent(at)) {
      if (this.removed.has(at)) return true;
      if (at === "/") return false;
    }
  }

  private remove(p: string): void {
    this.removed.add(p);
    for (const m of this.made) if (m === p || m.startsWith(`${p}/`)) this.made.delete(m);
  }
}

function normal(p: string): string {
  return path.posix.normalize(p).replace(/(.)\/+$/, "$1");
}

function parent(p: string): string {
  return path.posix.dirname(p);
}
