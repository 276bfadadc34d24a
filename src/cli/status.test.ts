/**
 * `muster status` through the built CLI on a root with a recorded run: the config revision the
 * server is on against the ref its boot config pins or follows, in human and JSON output.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BootRecord } from "../boot/state.ts";
import { cleanupTmp, muster, tmpDir } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

const ON = "c".repeat(40);
const OTHER = "d".repeat(40);

/** A root whose last run opened the gate on commit ON, with the given repo section. */
function rootWith(repo: Record<string, unknown> | undefined): string {
  const root = tmpDir();
  if (repo) {
    mkdirSync(path.join(root, "etc/muster"), { recursive: true });
    writeFileSync(
      path.join(root, "etc/muster/boot.json"),
      JSON.stringify({ repo: { url: "https://git.example.test/config.git", ...repo }, role: "static:web" }),
    );
  }
  const record: BootRecord = {
    runId: "r1",
    mode: "boot",
    bootId: "b1",
    pid: process.pid,
    startedAt: "2025-01-01T00:00:00.000Z",
    outcome: "open",
    attempts: 1,
    role: "web",
    configRevision: ON,
    stages: [],
  };
  mkdirSync(path.join(root, "var/lib/muster"), { recursive: true });
  writeFileSync(path.join(root, "var/lib/muster/last-run.json"), JSON.stringify(record));
  return root;
}

async function status(root: string, json: boolean) {
  return muster(["status", "--root", root, "--boot-id", "b1", ...(json ? ["--json"] : [])]);
}

describe("muster status: config ref", () => {
  it("a pinned commit the server is on: matches", async () => {
    const root = rootWith({ ref: ON });
    const human = await status(root, false);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`  config ref:      pinned to ${ON}: the server is on it\n`);
    const json = JSON.parse((await status(root, true)).stdout);
    expect(json.configRef).toEqual({ ref: ON, follow: false, state: "matches" });
  });

  it("a pinned commit the server is not on: differs", async () => {
    const root = rootWith({ ref: OTHER });
    expect((await status(root, false)).stdout).toContain(
      `  config ref:      pinned to ${OTHER}: DIFFERS from the config revision\n`,
    );
    expect(JSON.parse((await status(root, true)).stdout).configRef.state).toBe("differs");
  });

  it("a followed branch: follows BRANCH", async () => {
    const root = rootWith({ ref: "main", follow: true });
    expect((await status(root, false)).stdout).toContain("  config ref:      follows main\n");
    expect(JSON.parse((await status(root, true)).stdout).configRef).toEqual({
      ref: "main",
      follow: true,
      state: "follows",
    });
  });

  it("a branch not followed, and no boot config at all", async () => {
    expect((await status(rootWith({ ref: "release" }), false)).stdout).toContain(
      "  config ref:      release (not followed: periodic runs keep the commit the boot opened the gate on)\n",
    );
    const bare = rootWith(undefined);
    expect((await status(bare, false)).stdout).not.toContain("config ref:");
    expect(JSON.parse((await status(bare, true)).stdout).configRef).toBeNull();
  });
});
