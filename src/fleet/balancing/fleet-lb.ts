/**
 * src/fleet/balancing/: the load balancing in front of the fleet: the interface the controller
 * uses (this module), muster's own load balancer with ELB semantics (load-balancer.ts) and its
 * target-group health rules (target-health.ts), HAProxy behind the same interface (haproxy.ts),
 * the request metrics target tracking scales on (metrics.ts) and the traffic that exercises them
 * (traffic.ts). Another kind of load balancer lands here, behind this interface.
 *
 * What the fleet controller needs from a load balancer, so muster's own (load-balancer.ts) and
 * HAProxy (haproxy.ts) are interchangeable: targets registered and deregistered by instance id,
 * `health` events with ELB target states, `request` events shaped as access-log entries.
 */
import type { EventEmitter } from "node:events";
import type {
  AccessLogEntry,
  LoadBalancer,
  LoadBalancerEvents,
  TargetHealthEvent,
  TargetSpec,
} from "./load-balancer.ts";
import type { TargetState } from "./target-health.ts";

export interface FleetTarget {
  id: string;
  host: string;
  port: number;
  state: TargetState;
  description?: string;
}

export interface FleetLoadBalancer {
  readonly kind: "builtin" | "haproxy";
  readonly url: string;
  readonly accessLogPath?: string;
  registerTarget(spec: TargetSpec): void;
  deregisterTarget(id: string): void;
  describeTargets(): FleetTarget[];
  on(event: "health", listener: (e: TargetHealthEvent) => void): unknown;
  on(event: "request", listener: (e: AccessLogEntry) => void): unknown;
  /** processes it runs (none for the built-in one) */
  pids(): number[];
  close(): Promise<void>;
}

/** muster's own load balancer, as a FleetLoadBalancer. */
export function builtinFleetLoadBalancer(lb: LoadBalancer): FleetLoadBalancer {
  const emitter = lb as unknown as EventEmitter<LoadBalancerEvents>;
  return {
    kind: "builtin",
    url: lb.url,
    accessLogPath: lb.accessLogPath,
    registerTarget: (spec) => lb.registerTarget(spec),
    deregisterTarget: (id) => lb.deregisterTarget(id),
    describeTargets: () =>
      lb.describeTargetHealth().map((t) => ({
        id: t.id,
        host: t.host,
        port: t.port,
        state: t.state,
        description: t.description,
      })),
    on(event: "health" | "request", listener: (e: never) => void) {
      emitter.on(event, listener as never);
      return this;
    },
    pids: () => [],
    close: () => lb.close(),
  };
}
