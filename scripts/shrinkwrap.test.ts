/**
 * scripts/shrinkwrap.mjs: the npm-shrinkwrap.json a published muster carries pins every
 * dependency it needs at run time, with its integrity, and nothing only development needs.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, REPO_ROOT, tmpDir } from "../src/test-support/tmp.ts";

afterAll(cleanupTmp);

interface LockEntry {
  version?: string;
  integrity?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

describe("npm-shrinkwrap.json for the published package", () => {
  it("pins what muster needs at run time, all of it with its integrity, and no development tool", () => {
    const out = path.join(tmpDir(), "npm-shrinkwrap.json");
    execFileSync(process.execPath, [path.join(REPO_ROOT, "scripts/shrinkwrap.mjs"), "--out", out]);
    const wrap = JSON.parse(readFileSync(out, "utf8")) as {
      lockfileVersion: number;
      packages: Record<string, LockEntry>;
    };
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
    expect(wrap.lockfileVersion).toBe(3);
    expect(wrap.packages[""]?.devDependencies).toBeUndefined();
    for (const [name, version] of Object.entries(pkg.dependencies as Record<string, string>))
      expect(wrap.packages[`node_modules/${name}`], name).toMatchObject({ version });
    for (const name of Object.keys(pkg.devDependencies))
      expect(wrap.packages[`node_modules/${name}`], name).toBeUndefined();
    const entries = Object.entries(wrap.packages).filter(([k]) => k !== "");
    expect(entries.length).toBeGreaterThan(Object.keys(pkg.dependencies).length);
    for (const [key, e] of entries) {
      expect(e.dev, key).toBeUndefined();
      expect(e.integrity, key).toMatch(/^sha512-[A-Za-z0-9+/]+=*$/);
    }
    // every package a kept one depends on is kept too: npm ci would fail on a hole
    for (const [key, e] of entries)
      for (const dep of Object.keys({ ...e.dependencies }))
        expect(
          entries.some(([k]) => k === `node_modules/${dep}` || k.endsWith(`/node_modules/${dep}`)),
          `${key} needs ${dep}`,
        ).toBe(true);
  });

  it("npm packs it into the package, and removes it from the checkout afterwards", () => {
    // a copy of the package's manifest, lock and script (its build left out), packed as npm packs muster
    const dir = tmpDir();
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
    writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({
        ...pkg,
        // the package's own list, less what the build makes: npm-shrinkwrap.json must be on it
        files: ["README.md", ...pkg.files.filter((f: string) => f.endsWith(".json"))],
        scripts: { prepack: pkg.scripts.prepack, postpack: pkg.scripts.postpack },
      }),
    );
    writeFileSync(path.join(dir, "README.md"), "x\n");
    copyFileSync(path.join(REPO_ROOT, "package-lock.json"), path.join(dir, "package-lock.json"));
    mkdirSync(path.join(dir, "scripts"));
    copyFileSync(path.join(REPO_ROOT, "scripts/shrinkwrap.mjs"), path.join(dir, "scripts/shrinkwrap.mjs"));
    const name = execFileSync("npm", ["pack", "--silent"], { cwd: dir, encoding: "utf8" })
      .trim()
      .split("\n")
      .pop()!;
    const listed = execFileSync("tar", ["-tzf", path.join(dir, name)], { encoding: "utf8" }).split("\n");
    expect(listed).toContain("package/npm-shrinkwrap.json");
    expect(existsSync(path.join(dir, "npm-shrinkwrap.json"))).toBe(false);
  });
});
