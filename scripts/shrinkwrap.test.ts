/**
 * scripts/shrinkwrap.mjs: the npm-shrinkwrap.json a published muster carries pins every
 * dependency it needs at run time, with its integrity; the user data's `npm ci --omit=dev` from
 * it installs exactly those (offline here, from the npm cache `npm ci` of this checkout filled)
 * and refuses a dependency whose integrity is not the pinned one.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, REPO_ROOT, tmpDir } from "../src/test-support/tmp.ts";

afterAll(cleanupTmp);

interface LockEntry {
  version?: string;
  integrity?: string;
  dev?: boolean;
}
interface Lock {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));

function shrinkwrap(): Lock {
  const out = path.join(tmpDir(), "npm-shrinkwrap.json");
  execFileSync(process.execPath, [path.join(REPO_ROOT, "scripts/shrinkwrap.mjs"), "--out", out]);
  return JSON.parse(readFileSync(out, "utf8")) as Lock;
}

/** The package as the user data unpacks it: package.json and the shrinkwrap (muster's own files left out). */
function unpacked(wrap: Lock): string {
  const dir = tmpDir();
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ ...pkg, scripts: {} }));
  writeFileSync(path.join(dir, "npm-shrinkwrap.json"), JSON.stringify(wrap));
  return dir;
}

/** The user data's install step (src/boot/user-data.ts), offline: from the npm cache alone. */
const npmCi = (dir: string) =>
  spawnSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-fund", "--no-audit", "--offline"], {
    cwd: dir,
    encoding: "utf8",
    timeout: 120_000,
  });

describe("npm-shrinkwrap.json for the published package", () => {
  it("pins every run-time dependency with its integrity", () => {
    const wrap = shrinkwrap();
    expect(wrap.lockfileVersion).toBe(3);
    for (const [name, version] of Object.entries(pkg.dependencies as Record<string, string>))
      expect(wrap.packages[`node_modules/${name}`], name).toMatchObject({ version });
    for (const [key, e] of Object.entries(wrap.packages))
      if (key !== "" && !e.dev) expect(e.integrity, key).toMatch(/^sha512-[A-Za-z0-9+/]+=*$/);
  });

  it("npm ci from it installs the run-time dependencies and no development tool", () => {
    const dir = unpacked(shrinkwrap());
    const r = npmCi(dir);
    expect(r.status, r.stderr).toBe(0);
    for (const name of Object.keys(pkg.dependencies))
      expect(existsSync(path.join(dir, "node_modules", name)), name).toBe(true);
    for (const name of Object.keys(pkg.devDependencies))
      expect(existsSync(path.join(dir, "node_modules", name)), name).toBe(false);
  }, 150_000);

  it("a dependency whose integrity is not the pinned one is refused (a registry serving other bytes)", () => {
    const wrap = shrinkwrap();
    const entry = wrap.packages["node_modules/yaml"]!;
    const planted = Buffer.from("planted").toString("base64");
    const dir = unpacked({
      ...wrap,
      packages: { ...wrap.packages, "node_modules/yaml": { ...entry, integrity: `sha512-${planted}` } },
    });
    const r = npmCi(dir);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/EINTEGRITY|integrity/i);
    expect(existsSync(path.join(dir, "node_modules/yaml"))).toBe(false);
  }, 150_000);

  it("npm packs it into the package, and removes it from the checkout afterwards", () => {
    // a copy of the package's manifest, lock and script (its build left out), packed as npm packs muster
    const dir = tmpDir();
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
