/**
 * docs/getting-started.md, run as written: every `muster` command of its shell blocks, in
 * order, in a fresh directory. The only change is to the fleet.yaml `muster init` wrote: an
 * address block and a state directory of this test's own, so it never meets another fleet.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { addressBlock } from "../fleet/control/fleet-testing.ts";
import { cleanupTmp, muster, REPO_ROOT, tmpDir } from "../test-support/tmp.ts";

const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const stop of stops) await stop().catch(() => {});
  cleanupTmp();
}, 60_000);

/** The `muster ...` lines of the document's ```sh blocks, in order. */
function documentedCommands(markdown: string): string[][] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks
    .flatMap((b) => b.split("\n"))
    .map((l) => l.trim())
    .filter((l) => l.startsWith("muster "))
    .map((l) => l.split(/\s+/).slice(1));
}

describe("docs/getting-started.md", () => {
  it("walks from muster init to an InService fleet and back down, every command as written", async () => {
    const doc = readFileSync(path.join(REPO_ROOT, "docs/getting-started.md"), "utf8");
    const commands = documentedCommands(doc);
    expect(commands.map((c) => c.slice(0, 2).join(" "))).toEqual([
      "init my-fleet",
      "check --repo",
      "fleet up",
      "fleet status",
      "fleet down",
    ]);
    const cwd = tmpDir("muster-getting-started-");
    const stateDir = path.join(cwd, "state");
    stops.push(() => muster(["fleet", "down", "--state-dir", stateDir], { cwd }));
    for (const args of commands) {
      const res = await muster(args, { cwd, timeoutMs: 150_000 });
      expect(res.code, `muster ${args.join(" ")}: ${res.stderr}`).toBe(0);
      if (args[0] === "init") {
        const file = path.join(cwd, "my-fleet/fleet.yaml");
        const fleet = YAML.parse(readFileSync(file, "utf8"));
        fleet.instances = { addresses: addressBlock(23) };
        fleet.stateDir = stateDir;
        writeFileSync(file, YAML.stringify(fleet));
      }
      if (args[0] === "check") expect(res.stdout).toBe("muster check: my-fleet: ok\n");
      if (args[1] === "up") {
        expect(res.stdout).toContain("2 instances InService");
        // not on a terminal: each instance's changes, one line each, in order, until InService
        const changes = new Map<string, string[]>();
        for (const m of res.stdout.matchAll(/^ {2}(i-\S+) 127\.77\.\S+: (.*)$/gm))
          changes.set(m[1]!, [...(changes.get(m[1]!) ?? []), m[2]!]);
        expect(changes.size).toBe(2);
        for (const states of changes.values()) {
          expect(states.length).toBeGreaterThan(1);
          expect(states[0]).not.toMatch(/^InService/);
          expect(states[states.length - 1]).toMatch(/^InService, target healthy/);
        }
        const url = /load balancer (http:\S+)/.exec(res.stdout)![1]!;
        const page = await fetch(url);
        expect(page.status).toBe(200);
        expect(await page.text()).toMatch(/^hello from 127\.77\./);
      }
      if (args[1] === "status") expect(res.stdout).toMatch(/InService/);
    }
  }, 300_000);
});
