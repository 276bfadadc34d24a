/**
 * A fleet instance's metadata service says what the group last said of it, even when the group
 * said it before the listener was up (a termination that starts while the instance is Pending).
 */
import { afterAll, describe, expect, it } from "vitest";
import { openMetadataSession } from "../../cloud/metadata.ts";
import { BIN, cleanupTmp } from "../../test-support/tmp.ts";
import { addressAt } from "../control/fleet-config.ts";
import { testFleetConfig } from "../control/fleet-testing.ts";
import { FleetInstance } from "./instance.ts";

afterAll(cleanupTmp);

const LIFECYCLE = "/latest/meta-data/autoscaling/target-lifecycle-state";
const SPOT = "/latest/meta-data/spot/instance-action";

describe("a fleet instance's metadata", () => {
  it("a termination and a spot notice said while it launched are served once its listener is up", async () => {
    const cfg = testFleetConfig(73);
    const address = addressAt(cfg.instances.addresses, 0);
    const id = "i-0000000000000aa73";
    const inst = new FleetInstance({
      id,
      address,
      bootId: "00000000-0000-4000-8000-000000000073",
      dir: `${cfg.stateDir}/instances/${id}`,
      cfg,
      autoscalingUrl: "http://127.0.0.1:9/",
      configRepoUrl: "http://127.0.0.1:9/config.git",
      appRepoUrl: "http://127.0.0.1:9/app.git",
      node: process.execPath,
      musterBin: BIN,
    });
    try {
      const launched = inst.launch();
      // the group terminates it and EC2 announces an interruption while its root is still made
      inst.setTargetLifecycleState("Terminated");
      const notice = { action: "terminate" as const, time: "2026-12-07T00:00:00Z" };
      inst.announceSpotInterruption(notice);
      await launched;
      const session = await openMetadataSession({ endpoint: inst.metadata!.url, timeoutMs: 2000 });
      expect(await session.get(LIFECYCLE)).toBe("Terminated");
      expect(JSON.parse((await session.get(SPOT))!)).toEqual(notice);
      // and what is said later reaches it as before
      inst.setTargetLifecycleState("InService");
      expect(await session.get(LIFECYCLE)).toBe("InService");
    } finally {
      await inst.stop();
    }
  }, 60_000);
});
