/**
 * Consecutive file writes share one write group (see RootFs.openWriteGroup): each resource is
 * applied up to its fsync, the group fsyncs them together, then each is renamed, verified and
 * reported in declaration order. Only resources nothing else can observe in between are grouped.
 */
import type { DeclaredResource } from "../core/declared.ts";
import type { ResourceKind } from "../core/resource.ts";
import type { RootFs, StagedWrite } from "../host/root-fs.ts";
import type { ResourceResult } from "./report.ts";
import type { Planned, Started } from "./step.ts";

/** The most writes one group holds: each keeps its temporary file open until it is renamed. */
export const GROUP_MAX = 128;

/**
 * PURE: may `r`'s write wait in a group? Not in a dry run (nothing is written), not for a kind
 * whose writes are not all atomic file writes, and not when something runs between its apply
 * and the next resource's: a guard, a retry, an immediate notification.
 */
export function groupable(
  r: DeclaredResource,
  kind: ResourceKind,
  dryRun: boolean,
  notifiesImmediately: boolean,
): boolean {
  return (
    !dryRun &&
    kind.groupsWrites === true &&
    r.common.onlyIf === undefined &&
    r.common.notIf === undefined &&
    !r.common.retries &&
    !notifiesImmediately
  );
}

interface Grouped {
  r: DeclaredResource;
  started: Started;
  /** its writes in the write group: [from, to) */
  from: number;
  to: number;
}

/** A full group whose fsync is under way: its resources, their paths and the fsync's outcome. */
interface Sealed {
  items: Grouped[];
  paths: Set<string>;
  staged: Promise<StagedWrite[]>;
}

/** Publish and verify one resource's held writes (step.ts's second half). */
export type FinishGrouped = (started: Started, writes: StagedWrite[]) => Promise<ResourceResult>;
/** Report a result; the result that stops the run, if this one does. */
export type SettleGrouped = (r: DeclaredResource, res: ResourceResult) => Promise<ResourceResult | undefined>;

/**
 * Consecutive file writes, held and published in declaration order. A full group is sealed: its
 * fsync starts and the next group fills meanwhile, so the disk's flush overlaps with the work of
 * the resources after it (on a cold run, waiting for the flushes was a quarter of the converge);
 * the sealed group is published before the next one is sealed, and before anything that is not
 * a grouped write runs. When a published resource stops the run, what was staged after it is
 * discarded, unpublished and unreported, as if it had never started. At most two groups hold
 * their temporary files open at once.
 */
export class WriteGroup {
  private items: Grouped[] = [];
  private paths = new Set<string>();
  private sealed: Sealed | undefined;

  constructor(
    private readonly fs: RootFs,
    private readonly finish: FinishGrouped,
    private readonly settle: SettleGrouped,
  ) {}

  /**
   * Run `r`'s step with its write held. A second write to a path the groups hold must see the
   * first, and an apply that acts on the host at once (not writesOnly) must come after everything
   * before it: what is held is published first, and such a resource runs on its own. Returns the
   * result that stops the run, if any: `r`'s own failure (reported in its turn), or one before it.
   */
  async add(
    r: DeclaredResource,
    path: string,
    plan: () => Promise<Planned>,
  ): Promise<ResourceResult | undefined> {
    if (this.paths.has(path) || this.sealed?.paths.has(path)) {
      const stop = await this.flush();
      if (stop) return stop;
    }
    const planned = await plan();
    if (!("result" in planned) && !planned.writesOnly) {
      const stop = await this.flush();
      if (stop) return stop;
      return this.settle(r, await this.finish(await planned.apply(), []));
    }
    if (this.items.length === 0) this.fs.openWriteGroup();
    const from = this.fs.groupSize;
    const started = "result" in planned ? planned : await planned.apply();
    this.items.push({ r, started, from, to: this.fs.groupSize });
    this.paths.add(path);
    // a failed step: nothing after it may be published, and it is reported in its turn
    if ("result" in started && started.result.status === "failed") return this.flush();
    if (this.items.length >= GROUP_MAX) return this.seal();
    return undefined;
  }

  /** Publish everything held, in order; the result that stopped the run, if one did. */
  async flush(): Promise<ResourceResult | undefined> {
    const previous = this.takeSealed();
    if (previous) {
      const stop = await this.publish(previous);
      if (stop) {
        await this.discardOpen();
        return stop;
      }
    }
    if (this.items.length === 0) return undefined;
    const items = this.items;
    this.items = [];
    this.paths = new Set();
    return this.publish({ items, paths: new Set(), staged: this.fs.syncWriteGroup() });
  }

  /** After an unexpected error groups may still be held: nothing of them is published. */
  async discard(): Promise<void> {
    const previous = this.takeSealed();
    if (previous) for (const w of await previous.staged.catch(() => [])) w.discard();
    await this.discardOpen();
  }

  /** Start the open group's fsync, then publish the group sealed before it. */
  private async seal(): Promise<ResourceResult | undefined> {
    const previous = this.takeSealed();
    this.sealed = { items: this.items, paths: this.paths, staged: this.fs.syncWriteGroup() };
    this.items = [];
    this.paths = new Set();
    if (!previous) return undefined;
    const stop = await this.publish(previous);
    if (stop) await this.discard();
    return stop;
  }

  private takeSealed(): Sealed | undefined {
    const s = this.sealed;
    this.sealed = undefined;
    return s;
  }

  /**
   * Await a group's fsync, then, in declaration order, finish each (publish, verify) and settle
   * its result; once one stops the run, the writes after it are discarded.
   */
  private async publish(group: Sealed): Promise<ResourceResult | undefined> {
    const staged = await group.staged;
    let stop: ResourceResult | undefined;
    for (const it of group.items) {
      const mine = staged.slice(it.from, it.to);
      if (stop) {
        for (const w of mine) w.discard();
        continue;
      }
      stop = await this.settle(it.r, await this.finish(it.started, mine));
    }
    return stop;
  }

  private async discardOpen(): Promise<void> {
    if (this.items.length === 0) return;
    this.items = [];
    this.paths = new Set();
    for (const w of await this.fs.syncWriteGroup()) w.discard();
  }
}
