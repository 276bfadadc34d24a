/**
 * The target-tracking metric, PURE: requests per healthy target in a sample period, counted from
 * the load balancer's access log (requests a target served; a 503 with no target counts too, as
 * ALB's RequestCountPerTarget counts every request the load balancer received).
 */
export interface MetricSample {
  requests: number;
  healthyTargets: number;
  /** requests / healthy targets; undefined when no target is healthy */
  requestsPerTarget?: number;
}

export function requestsPerTarget(
  entries: ReadonlyArray<{ time: number }>,
  from: number,
  to: number,
  healthyTargets: number,
): MetricSample {
  let requests = 0;
  for (const e of entries) if (e.time > from && e.time <= to) requests++;
  return {
    requests,
    healthyTargets,
    requestsPerTarget: healthyTargets > 0 ? requests / healthyTargets : undefined,
  };
}

/** Percentile (0..100) of a list of numbers, nearest-rank; undefined for an empty list. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}
