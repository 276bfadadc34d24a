/**
 * scripts/release.mjs: the linux-x64 archive installs with npm and no registry, runs, compiles a
 * recipe with the esbuild it carries, and is small; its .sha256 verifies it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupTmp, REPO_ROOT, tmpDir } from "../src/test-support/tmp.ts";

afterAll(cleanupTmp);

const version = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).version;
const archiveName = `muster-fleet-${version}-linux-x64.tgz`;
let out: string;
let prefix: string;

/** A run of the installed muster with no way to reach this checkout's node_modules or a registry. */
function installed(args: string[], cwd: string) {
  return spawnSync(path.join(prefix, "bin/muster"), args, {
    cwd,
    encoding: "utf8",
    env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, NO_COLOR: "1", HOME: cwd },
  });
}

beforeAll(() => {
  out = tmpDir("muster-release-out-");
  prefix = tmpDir("muster-release-prefix-");
  // dist/ is built by the test setup: the archive is made from it as it is
  execFileSync(
    process.execPath,
    [path.join(REPO_ROOT, "scripts/release.mjs"), "--platform", "linux-x64", "--out", out, "--no-build"],
    {
      stdio: "pipe",
    },
  );
  execFileSync(
    "npm",
    [
      "install",
      "--global",
      "--offline",
      "--no-audit",
      "--no-fund",
      "--prefix",
      prefix,
      path.join(out, archiveName),
    ],
    // no registry at all: a dependency npm had to fetch would fail the install
    { stdio: "pipe", cwd: out, env: { ...process.env, npm_config_registry: "http://127.0.0.1:9/" } },
  );
}, 120_000);

describe("npm run release (linux-x64)", () => {
  it("writes the archive and a sha256sum line that verifies it", () => {
    const line = readFileSync(path.join(out, `${archiveName}.sha256`), "utf8");
    expect(line).toMatch(new RegExp(`^[0-9a-f]{64}  ${archiveName.replaceAll(".", "\\.")}\\n$`));
    expect(spawnSync("sha256sum", ["-c", `${archiveName}.sha256`], { cwd: out }).status).toBe(0);
  });

  it("installs as muster-fleet with no dependencies and no TypeScript; under 30 MB", () => {
    const pkgDir = path.join(prefix, "lib/node_modules/muster-fleet");
    const manifest = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));
    expect(manifest.name).toBe("muster-fleet");
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.cpu).toEqual(["x64"]);
    expect(existsSync(path.join(pkgDir, "node_modules"))).toBe(false);
    const bytes = Number(execFileSync("du", ["-sb", prefix], { encoding: "utf8" }).split("\t")[0]);
    expect(bytes).toBeGreaterThan(5_000_000);
    expect(bytes).toBeLessThan(30_000_000);
  });

  it("runs: --version, and a dry-run converge whose recipe (importing muster-fleet) esbuild compiles", () => {
    const cwd = tmpDir("muster-release-run-");
    expect(installed(["--version"], cwd)).toMatchObject({ status: 0, stdout: `${version}\n` });

    const repo = path.join(cwd, "repo");
    mkdirSync(path.join(repo, "roles"), { recursive: true });
    mkdirSync(path.join(repo, "recipes"));
    writeFileSync(path.join(repo, "roles/web.json"), '{ "name": "web", "runList": ["web"] }\n');
    writeFileSync(
      path.join(repo, "recipes/web.ts"),
      'import { recipe } from "muster-fleet";\nconst dir: string = "/srv/www";\nexport default recipe("web", ({ directory }) => {\n  directory(dir, {});\n});\n',
    );
    const root = path.join(cwd, "root");
    mkdirSync(path.join(root, "srv"), { recursive: true }); // a dry run checks the parent is there
    const r = installed(["converge", "--repo", repo, "--role", "web", "--root", root, "--dry-run"], cwd);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("directory[/srv/www] (recipes/web.ts:4)");
    expect(r.stdout).toContain("would create directory /srv/www");
  });
});
