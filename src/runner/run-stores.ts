/**
 * The per-run stores of the resource kinds (ResourceKind.runStore): one per kind and run, made
 * when first needed, so what a kind's steps hand each other lives exactly as long as the run.
 */
import type { ResourceKind } from "../core/resource.ts";

export class RunStores {
  private readonly stores = new Map<ResourceKind, unknown>();

  of<R>(kind: ResourceKind<any, any, R>): R {
    if (!this.stores.has(kind)) this.stores.set(kind, kind.runStore?.());
    return this.stores.get(kind) as R;
  }
}
