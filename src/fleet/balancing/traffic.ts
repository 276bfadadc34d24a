/**
 * Steady traffic against the load balancer: a bounded request loop (a few clients in parallel,
 * each sending one request after another) that records every answer, for the demo, the tests
 * and the benchmark. A request fails when it gets anything but 200 or no answer at all.
 */
import { errorMessage } from "../../core/errors.ts";

export interface TrafficRecord {
  time: number;
  status: number;
  /** the x-app-revision header (the example app's revision) */
  revision?: string;
  error?: string;
}

export interface TrafficResult {
  requests: number;
  failed: number;
  /** the first few failures, as text */
  failures: string[];
  records: TrafficRecord[];
}

export interface Traffic {
  readonly result: TrafficResult;
  stop(): Promise<TrafficResult>;
}

export function startTraffic(
  url: string,
  opts: { clients?: number; maxRequests?: number; pauseMs?: number; timeoutMs?: number } = {},
): Traffic {
  const r: TrafficResult = { requests: 0, failed: 0, failures: [], records: [] };
  const max = opts.maxRequests ?? 50_000;
  let stop = false;
  const client = async () => {
    while (!stop && r.requests < max) {
      r.requests++;
      const time = Date.now();
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
        await res.arrayBuffer();
        r.records.push({
          time,
          status: res.status,
          revision: res.headers.get("x-app-revision") ?? undefined,
        });
        if (res.status !== 200) {
          r.failed++;
          if (r.failures.length < 5) r.failures.push(`HTTP ${res.status}`);
        }
      } catch (err) {
        const error = errorMessage((err as { cause?: unknown }).cause ?? err);
        r.records.push({ time, status: 0, error });
        r.failed++;
        if (r.failures.length < 5) r.failures.push(error);
      }
      await new Promise((res) => setTimeout(res, opts.pauseMs ?? 5));
    }
  };
  const running = Promise.all(Array.from({ length: opts.clients ?? 4 }, client));
  return {
    result: r,
    async stop() {
      stop = true;
      await running;
      return r;
    },
  };
}
