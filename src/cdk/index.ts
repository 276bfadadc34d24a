/**
 * muster's AWS CDK construct (`import { MusterFleet } from "muster-fleet/cdk"`): an entry point of its
 * own, so the CLI never loads aws-cdk-lib, an optional peer dependency a server does not install.
 */

export type {
  FleetGate,
  FleetInstanceRefresh,
  FleetPlatform,
  FleetRetries,
  FleetRole,
  InstanceRefreshPreferences,
  RoleSourceKind,
} from "./fleet-settings.ts";
export { FleetPropsError, LAUNCH_HOOK_NAME, TERMINATE_HOOK_NAME } from "./fleet-settings.ts";
export type { DeployKey, MusterFleetProps, MusterFleetRepository } from "./muster-fleet.ts";
export { MusterFleet } from "./muster-fleet.ts";
export type { MusterReleaseFiles } from "./release-asset.ts";
