/**
 * The load balancer's request rate and error count over the last minutes, PURE: access-log
 * samples (time, status) into fixed buckets ending at `now`, as the dashboard's chart and
 * `muster fleet status --watch` show them. An error is an answer of 500 or more (502, 503, 504
 * from the load balancer itself, or a 5xx from an instance); 460 (the client left) is not one.
 */

export interface RequestSample {
  /** ms since the epoch */
  time: number;
  status: number;
}

export interface RateSeries {
  /** each bucket's end, seconds since the epoch (uPlot's x values) */
  times: number[];
  /** requests per second in each bucket */
  rate: number[];
  /** answers >= 500 in each bucket */
  errors: number[];
  bucketMs: number;
}

export const isError = (status: number): boolean => status >= 500;

export function rateSeries(
  samples: readonly RequestSample[],
  now: number,
  opts: { windowMs?: number; bucketMs?: number } = {},
): RateSeries {
  const bucketMs = opts.bucketMs ?? 5000;
  const n = Math.max(1, Math.round((opts.windowMs ?? 300_000) / bucketMs));
  // buckets end on whole multiples of bucketMs, so a redraw a second later moves no old bucket
  const end = Math.ceil(now / bucketMs) * bucketMs;
  const start = end - n * bucketMs;
  const counts = new Array<number>(n).fill(0);
  const errors = new Array<number>(n).fill(0);
  for (const s of samples) {
    if (s.time < start || s.time >= end) continue;
    const k = Math.floor((s.time - start) / bucketMs);
    counts[k]!++;
    if (isError(s.status)) errors[k]!++;
  }
  return {
    times: counts.map((_, k) => (start + (k + 1) * bucketMs) / 1000),
    rate: counts.map((c) => c / (bucketMs / 1000)),
    errors,
    bucketMs,
  };
}

/** Requests and errors within the last `ms` before `now`. */
export function recentTotals(
  samples: readonly RequestSample[],
  now: number,
  ms: number,
): { requests: number; errors: number; perSecond: number } {
  let requests = 0;
  let errors = 0;
  for (const s of samples)
    if (s.time > now - ms && s.time <= now) {
      requests++;
      if (isError(s.status)) errors++;
    }
  return { requests, errors, perSecond: requests / (ms / 1000) };
}
