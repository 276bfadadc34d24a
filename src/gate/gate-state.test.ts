import { describe, expect, it } from "vitest";
import { currentBootId } from "./boot-id.ts";
import { type GateRecord, gateContent, judgeGate } from "./gate-state.ts";

const record: GateRecord = {
  gate: "open",
  bootId: "boot-a",
  role: "web",
  configRevision: "c".repeat(40),
  appRevision: "a".repeat(40),
  runId: "run-1",
  openedAt: "2024-01-01T00:00:00.000Z",
};

describe("is the gate open for this boot?", () => {
  it("open: a whole record written on this boot", () => {
    expect(judgeGate(gateContent(record), "boot-a")).toEqual({ state: "open", record });
  });

  it("stale: a record from another boot (e.g. baked into an image) reads as closed", () => {
    const v = judgeGate(gateContent(record), "boot-b");
    expect(v.state).toBe("stale");
    expect(v.state === "stale" && v.reason).toContain("another boot (boot-a, this boot is boot-b)");
  });

  it("closed: no file, not JSON, an old plain ping.html, or a record missing a field", () => {
    expect(judgeGate(undefined, "boot-a").state).toBe("closed");
    expect(judgeGate("OK\n", "boot-a").state).toBe("closed");
    expect(judgeGate("", "boot-a").state).toBe("closed");
    expect(judgeGate("null", "boot-a").state).toBe("closed");
    const { role: _role, ...noRole } = record;
    expect(judgeGate(JSON.stringify(noRole), "boot-a").state).toBe("closed");
    expect(judgeGate(JSON.stringify({ ...record, gate: "closed" }), "boot-a").state).toBe("closed");
    expect(judgeGate(JSON.stringify({ ...record, bootId: "" }), "")).toMatchObject({ state: "closed" });
  });
});

describe("boot id", () => {
  it("comes from the flag, else MUSTER_BOOT_ID, else the kernel", () => {
    expect(currentBootId("flag-id", { MUSTER_BOOT_ID: "env-id" })).toBe("flag-id");
    expect(currentBootId(undefined, { MUSTER_BOOT_ID: "env-id" })).toBe("env-id");
    expect(currentBootId(undefined, {})).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("rejects odd ids and says where they came from", () => {
    expect(() => currentBootId("a b", {})).toThrow(/--boot-id "a b"/);
    expect(() => currentBootId(undefined, { MUSTER_BOOT_ID: "" })).toThrow(/MUSTER_BOOT_ID/);
    expect(() => currentBootId(undefined, {}, "/nonexistent/boot_id")).toThrow(/cannot read the boot id/);
  });
});
