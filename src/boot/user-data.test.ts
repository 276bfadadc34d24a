/**
 * The cloud-init user data for both image families, checked by cloud-init's own schema validator
 * where cloud-init is installed, and its shell scripts by `sh -n`.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { exec } from "../host/exec.ts";
import { cleanupTmp, muster, tmpDir } from "../test-support/tmp.ts";
import { cloudInitUserData, type UserDataPlatform } from "./user-data.ts";

afterAll(cleanupTmp);

const hasCloudInit = (await exec(["sh", "-c", "command -v cloud-init"])).code === 0;

const userData = (platform?: UserDataPlatform) =>
  cloudInitUserData({
    bootConfig: '{"repo":{"url":"https://git.example.test/config.git"}}',
    bootConfigFormat: "json",
    packageSpec: "muster@0.1.0",
    nodeVersion: "20.20.2",
    health: true,
    platform,
  });

describe("user data for Amazon Linux 2023", () => {
  it("installs Node.js 20 and git with dnf, not the nodejs.org tarball, and no apt packages", async () => {
    const doc = YAML.parse(userData("al2023"));
    const first: string = doc.runcmd[0][2];
    expect(first).toContain("dnf install -y nodejs20 nodejs20-npm git");
    expect(first).not.toContain("nodejs.org");
    expect(doc.packages).toBeUndefined();
    expect(doc.package_update).toBeUndefined();
    expect((await exec(["sh", "-n", "-c", first])).code).toBe(0);
    // the rest is the same as on Debian: muster from npm, its units, the first boot
    expect(doc.runcmd.slice(1)).toEqual(YAML.parse(userData()).runcmd.slice(1));
  });

  it("Debian stays the default: the tarball, and apt's packages", () => {
    const doc = YAML.parse(userData());
    expect(doc.runcmd[0][2]).toContain("https://nodejs.org/dist/v20.20.2/");
    expect(doc.packages).toContain("git");
  });

  it("--platform picks it on the command line; an unknown one is one line, exit 2", async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, "boot.json"), '{"repo":{"url":"https://git.example.test/c.git"}}');
    const args = ["install", "--print-user-data", "--config", path.join(dir, "boot.json")];
    const ok = await muster([...args, "--platform", "al2023"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("dnf install -y nodejs20");
    const bad = await muster([...args, "--platform", "centos"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      "muster: install --platform centos: unknown platform; use debian or al2023",
    );
  });
});

describe.skipIf(!hasCloudInit)(
  `cloud-init's schema${hasCloudInit ? "" : " (skipped: no cloud-init on this machine)"}`,
  () => {
    it.each(["debian", "al2023"] as const)("accepts the %s user data", async (platform) => {
      const file = path.join(tmpDir(), "user-data");
      writeFileSync(file, userData(platform));
      const res = await exec(["cloud-init", "schema", "--config-file", file]);
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^Valid cloud-config: /);
    });

    it("and rejects a broken one (the check can fail)", async () => {
      const file = path.join(tmpDir(), "user-data");
      writeFileSync(file, "#cloud-config\nruncmd: 12\npackages: {a: 1}\n");
      const res = await exec(["cloud-init", "schema", "--config-file", file]);
      expect(res.code).not.toBe(0);
    });
  },
);
