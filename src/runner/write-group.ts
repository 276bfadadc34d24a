/**
 * Consecutive file writes share one write group (see RootFs.openWriteGroup): each resource is
 * applied up to its fsync, the group fsyncs them together, then each is renamed, verified and
 * reported in declaration order. Only resources nothing else can observe in between are grouped.
 */
import type { DeclaredResource } from "../core/declared.ts";
import type { ResourceKind } from "../core/resource.ts";
import type { RootFs, StagedWrite } from "../host/root-fs.ts";
import type { ResourceResult } from "./report.ts";
import type { Started } from "./step.ts";

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

export class WriteGroup {
  private items: Grouped[] = [];
  private readonly paths = new Set<string>();

  constructor(private readonly fs: RootFs) {}

  /** A second write to the same path must see the first: the group is flushed before it. */
  holds(path: string): boolean {
    return this.paths.has(path);
  }

  /**
   * Run the first half of `r`'s step with its writes held in the group. True when the group is
   * to be flushed now: the step failed (nothing after it may be published) or the group is full.
   */
  async add(r: DeclaredResource, path: string, start: () => Promise<Started>): Promise<boolean> {
    if (this.items.length === 0) this.fs.openWriteGroup();
    const from = this.fs.groupSize;
    const started = await start();
    this.items.push({ r, started, from, to: this.fs.groupSize });
    this.paths.add(path);
    return ("result" in started && started.result.status === "failed") || this.items.length >= GROUP_MAX;
  }

  /**
   * Fsync the group, then, in declaration order, `finish` each (publish, verify) and hand its
   * result to `settle`, which says whether it stops the run: the writes after that one are
   * discarded. Returns the result that stopped it.
   */
  async flush(
    finish: (started: Started, writes: StagedWrite[]) => Promise<ResourceResult>,
    settle: (r: DeclaredResource, res: ResourceResult) => Promise<ResourceResult | undefined>,
  ): Promise<ResourceResult | undefined> {
    if (this.items.length === 0) return undefined;
    const items = this.items;
    this.items = [];
    this.paths.clear();
    const staged = await this.fs.syncWriteGroup();
    let stop: ResourceResult | undefined;
    for (const it of items) {
      const mine = staged.slice(it.from, it.to);
      if (stop) {
        for (const w of mine) w.discard();
        continue;
      }
      stop = await settle(it.r, await finish(it.started, mine));
    }
    return stop;
  }

  /** After an unexpected error a group may still be open: nothing of it is published. */
  async discard(): Promise<void> {
    if (this.items.length === 0) return;
    this.items = [];
    this.paths.clear();
    for (const w of await this.fs.syncWriteGroup()) w.discard();
  }
}
