import { describe, expect, it } from "vitest";
import { rateSeries, recentTotals } from "./rate-series.ts";

describe("request rate series", () => {
  it("buckets requests ending at now, as requests per second, counting 5xx as errors and 460 not", () => {
    const now = 100_000;
    const samples = [
      { time: 80_500, status: 200 }, // before the window
      { time: 90_000, status: 200 },
      { time: 91_000, status: 503 },
      { time: 94_999, status: 460 },
      { time: 96_000, status: 200 },
      { time: 100_000, status: 200 }, // the bucket after now's
    ];
    const s = rateSeries(samples, now, { windowMs: 10_000, bucketMs: 5000 });
    expect(s.times).toEqual([95, 100]);
    expect(s.rate).toEqual([3 / 5, 1 / 5]);
    expect(s.errors).toEqual([1, 0]);
  });

  it("totals the last minute", () => {
    const t = recentTotals(
      [
        { time: 1000, status: 200 },
        { time: 61_000, status: 502 },
        { time: 62_000, status: 200 },
      ],
      62_000,
      60_000,
    );
    expect(t).toEqual({ requests: 2, errors: 1, perSecond: 2 / 60 });
  });
});
