import { describe, expect, it } from "vitest";
import { scaleProgress } from "./scale-progress.ts";

const of = (...states: string[]) => states.map((state) => ({ state }));

describe("scale progress", () => {
  it("is none when the group is where it wants to be (terminated instances aside)", () => {
    expect(
      scaleProgress({ desired: 2, instances: of("InService", "InService", "Terminated") }),
    ).toBeUndefined();
  });

  it("counts a scale-out by the instances InService", () => {
    const p = scaleProgress({
      desired: 4,
      instances: of("InService", "InService", "Pending:Wait", "Pending"),
    });
    expect(p).toMatchObject({ direction: "out", inService: 2, coming: 2, fraction: 0.5 });
    expect(p!.text).toBe("scaling out to 4: 2 of 4 InService, 2 on the way in");
  });

  it("counts a scale-in by the instances still on their way out", () => {
    const p = scaleProgress({ desired: 1, instances: of("InService", "Terminating:Wait") });
    expect(p).toMatchObject({ direction: "in", going: 1, fraction: 0.5 });
  });
});
