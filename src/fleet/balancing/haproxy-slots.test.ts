/** HAProxy's server slots: what is sent over the admin socket to give a target a slot and take it back. */
import { describe, expect, it } from "vitest";
import {
  assignCommands,
  pickFreeSlot,
  releaseCommands,
  type ServerSlot,
  slotCount,
  slotName,
} from "./haproxy-slots.ts";

describe("HAProxy server slots", () => {
  it("gives a slot by state changes only: address in maintenance, drain, health forced down", () => {
    expect(assignCommands("web/slot3", "127.77.0.9", 8080).split("; ")).toEqual([
      "set server web/slot3 state maint",
      "set server web/slot3 addr 127.77.0.9 port 8080",
      "set server web/slot3 state drain",
      "set server web/slot3 health down",
    ]);
    expect(releaseCommands("web/slot3", false)).toBe("set server web/slot3 state maint");
    expect(releaseCommands("web/slot3", true)).toBe(
      "set server web/slot3 state maint; shutdown sessions server web/slot3",
    );
  });

  it("never adds or deletes a server (HAProxy 2.6 crashes on `del server` then `add server` under load)", () => {
    const sent = [assignCommands("web/slot1", "127.0.0.2", 80), releaseCommands("web/slot1", true)].join(
      "; ",
    );
    expect(sent).not.toMatch(/\b(add|del) server\b/);
  });

  it("hands out the free slot released longest ago, so late log lines keep their target", () => {
    const slots: ServerSlot[] = [
      { name: "slot1", holder: "i-1", freedAt: 0 },
      { name: "slot2", freedAt: 5000, lastHolder: "i-2" },
      { name: "slot3", freedAt: 1000, lastHolder: "i-3" },
    ];
    expect(pickFreeSlot(slots)?.name).toBe("slot3");
    slots[2]!.holder = "i-4";
    expect(pickFreeSlot(slots)?.name).toBe("slot2");
    slots[1]!.holder = "i-5";
    expect(pickFreeSlot(slots)).toBeUndefined();
  });

  it("has room for a group being replaced and its draining targets", () => {
    expect(slotCount(2)).toBe(16);
    expect(slotCount(10)).toBe(40);
    expect(slotName(0)).toBe("slot1");
  });
});
