/**
 * What `/latest/meta-data/autoscaling/target-lifecycle-state` answers for an Auto Scaling
 * lifecycle state: PURE.
 *
 * AWS documents the item as the *target* steady state the instance is moving to, not its current
 * state ("Retrieve the target lifecycle state through instance metadata", Amazon EC2 Auto Scaling
 * user guide): the steady states are InService and Terminated, Detached and Standby, and with a
 * warm pool Warmed:Hibernated, Warmed:Running, Warmed:Stopped and Warmed:Terminated. "When an
 * instance prepares to transition to one of the preceding steady states", the item changes. So a
 * launching instance reads InService already in Pending and Pending:Wait, and a terminating one
 * reads Terminated from the moment termination starts, Terminating:Wait included: that is the
 * documented way for code on the instance to see that it is being terminated.
 *
 * The group model (asg-model.ts) has the launch and terminate paths; the warm pool, standby and
 * detach states are mapped here too (by AWS's names, from the LifecycleState values of the
 * DescribeAutoScalingInstances API) so they answer right once the model has them.
 */

/** AWS's LifecycleState values (the DescribeAutoScalingInstances API). */
export type AwsLifecycleState =
  | "Pending"
  | "Pending:Wait"
  | "Pending:Proceed"
  | "Quarantined"
  | "InService"
  | "Terminating"
  | "Terminating:Wait"
  | "Terminating:Proceed"
  | "Terminated"
  | "Detaching"
  | "Detached"
  | "EnteringStandby"
  | "Standby"
  | "Warmed:Pending"
  | "Warmed:Pending:Wait"
  | "Warmed:Pending:Proceed"
  | "Warmed:Terminating"
  | "Warmed:Terminating:Wait"
  | "Warmed:Terminating:Proceed"
  | "Warmed:Terminated"
  | "Warmed:Stopped"
  | "Warmed:Running"
  | "Warmed:Hibernated";

/** The steady states the metadata item can answer. */
export type TargetLifecycleState =
  | "InService"
  | "Terminated"
  | "Detached"
  | "Standby"
  | "Warmed:Hibernated"
  | "Warmed:Running"
  | "Warmed:Stopped"
  | "Warmed:Terminated";

/**
 * The target state of an instance in `state`. A warm pool instance moving in (Warmed:Pending...)
 * is headed for the pool's state, which the group's warm pool configuration decides (`pool`,
 * default Warmed:Stopped, AWS's default PoolState).
 */
export function targetLifecycleState(
  state: AwsLifecycleState,
  pool: "Warmed:Stopped" | "Warmed:Running" | "Warmed:Hibernated" = "Warmed:Stopped",
): TargetLifecycleState {
  switch (state) {
    case "Pending":
    case "Pending:Wait":
    case "Pending:Proceed":
    case "Quarantined":
    case "InService":
      return "InService";
    case "Terminating":
    case "Terminating:Wait":
    case "Terminating:Proceed":
    case "Terminated":
      return "Terminated";
    case "Detaching":
    case "Detached":
      return "Detached";
    case "EnteringStandby":
    case "Standby":
      return "Standby";
    case "Warmed:Pending":
    case "Warmed:Pending:Wait":
    case "Warmed:Pending:Proceed":
      return pool;
    case "Warmed:Terminating":
    case "Warmed:Terminating:Wait":
    case "Warmed:Terminating:Proceed":
    case "Warmed:Terminated":
      return "Warmed:Terminated";
    case "Warmed:Stopped":
    case "Warmed:Running":
    case "Warmed:Hibernated":
      return state;
  }
}
