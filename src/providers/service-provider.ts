/**
 * What a service provider is (systemd, muster's supervisor) and what it reads and is asked to do:
 * the contract between the service resource and its providers, imported by both sides.
 */
import type { Change, ResourceContext } from "../core/resource.ts";
import type { ServiceProps } from "../resources/service-schema.ts";

export type ProviderName = "systemd" | "supervisor";

/** What a provider reads; the same shape for both, so the plan below is provider-free. */
export interface ServiceState {
  provider: ProviderName;
  /** where the unit (systemd) or definition (supervisor) lives, inside the root */
  definitionPath: string;
  /** rendered from the unit prop; undefined when the recipe gives no unit */
  desiredDefinition?: string;
  /** what is there now; undefined when missing */
  definition?: string;
  active: boolean;
  enabled: boolean;
}

export interface ServicePlan {
  changes: Change[];
  writeDefinition: boolean;
  enable?: boolean;
  run?: "start" | "stop" | "restart" | "reload";
}

export interface ServiceProvider {
  read(ctx: ResourceContext, p: ServiceProps): Promise<ServiceState>;
  apply(ctx: ResourceContext, p: ServiceProps, plan: ServicePlan, cur: ServiceState): Promise<void>;
  /** reload when the service can, else restart; nothing when it is meant to be stopped */
  refresh(ctx: ResourceContext, p: ServiceProps): Promise<void>;
}
