/** The boot-side commands as registered: schemas, help, and that nothing heavy loads up front. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { muster, REPO_ROOT } from "../test-support/tmp.ts";

describe("boot-side commands", () => {
  it("muster schema boot|role|fleet print JSON Schema; another kind is bad input", async () => {
    const boot = await muster(["schema", "boot"]);
    expect(boot.code).toBe(0);
    const s = JSON.parse(boot.stdout);
    expect(s.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(s.required).toEqual(["repo"]);
    const role = await muster(["schema", "role"]);
    expect(role.code).toBe(0);
    expect(JSON.parse(role.stdout).anyOf).toHaveLength(2);
    const fleet = await muster(["schema", "fleet"]);
    expect(fleet.code).toBe(0);
    expect(Object.keys(JSON.parse(fleet.stdout).properties)).toContain("group");
    const bad = await muster(["schema", "fleet-of-ships"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("muster: schema fleet-of-ships: unknown kind; expected boot, role or fleet\n");
  });

  it("muster boot --help names the stages and the exit codes", async () => {
    const res = await muster(["boot", "--help"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("--periodic");
    expect(res.stdout).toContain("Exit codes: 0 gate open");
  });

  it("the CLI's entry loads no AWS SDK: every command body is imported lazily", () => {
    const dist = path.join(REPO_ROOT, "dist");
    const seen = new Set<string>();
    const external = new Set<string>();
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(path.join(dist, file), "utf8");
      for (const m of text.matchAll(/^import\s[^;]*?from\s*"([^"]+)";|^import\s*"([^"]+)";/gm)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith("./")) walk(spec.slice(2));
        else external.add(spec);
      }
    };
    walk("cli.js");
    expect([...external].filter((s) => s.startsWith("@aws-sdk"))).toEqual([]);
    // and the boot body does get it, lazily: the walk above would fail to see a static import
    const bodies = readFileSync(path.join(dist, "cli.js"), "utf8");
    expect(bodies).toMatch(/import\("\.\/run-boot-[A-Z0-9]+\.js"\)/);
  });
});
