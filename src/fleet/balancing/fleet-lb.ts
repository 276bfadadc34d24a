/**
 * src/fleet/balancing/: the load balancing in front of the fleet: the interface the controller
 * uses (this module), muster's own load balancer with ELB semantics (load-balancer.ts) and its
 * target-group health rules (target-health.ts), HAProxy behind the same interface (haproxy.ts),
 * the request metrics target tracking scales on (metrics.ts) and the traffic that exercises them
 * (traffic.ts). Another kind of load balancer lands here, behind this interface.
 *
 * What the fleet controller needs from a load balancer, so muster's own (load-balancer.ts) and
 * HAProxy (haproxy.ts) are interchangeable: targets registered and deregistered by instance id,
 * `health` events with ELB target states, `request` events shaped as access-log entries, and,
 * for one that runs as a process of its own, `down` when that process is gone and `restart()`.
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

/** The load balancer's process as `fleet status` shows it. */
export interface LoadBalancerProcess {
  /** down: its process is gone and not (yet) started again */
  state: "up" | "down";
  /** its process; none for one that runs inside the fleet's daemon */
  pid?: number;
  /** since when it is down, ms since the epoch */
  downSince?: number;
  /** how many times it was started again after it died */
  restarts: number;
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
  /** its process died (never emitted by one that runs inside the daemon) */
  on(event: "down", listener: (e: { time: number; pid: number }) => void): unknown;
  /** processes it runs (none for the built-in one) */
  pids(): number[];
  processState(): LoadBalancerProcess;
  /** start its process again after `down`, with the current targets; the new pid */
  restart(): Promise<number | undefined>;
  close(): Promise<void>;
}

/**
 * muster's own load balancer, as a FleetLoadBalancer. It runs inside the fleet's daemon, so it
 * cannot die alone: if it goes, the daemon goes with it and `fleet up` reports that.
 */
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
    on(event: "health" | "request" | "down", listener: (e: never) => void) {
      if (event !== "down") emitter.on(event, listener as never);
      return this;
    },
    pids: () => [],
    processState: () => ({ state: "up", restarts: 0 }),
    restart: async () => undefined,
    close: () => lb.close(),
  };
}
