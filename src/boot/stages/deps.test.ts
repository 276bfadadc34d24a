import { existsSync, mkdirSync, readlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../../test-support/tmp.ts";
import { localDependencyFiles, repoWithLocalDependency } from "../testing/repos.ts";
import { hasDependencies, installDependencies } from "./deps.ts";

afterAll(cleanupTmp);

const install = (dir: string) =>
  installDependencies({ dir, cacheDir: path.join(tmpDir(), "npm-cache"), timeoutMs: 60_000 });

describe("installing the config repo's dependencies", () => {
  it("nothing to do without a package.json or without dependencies", async () => {
    const dir = tmpDir();
    expect(await install(dir)).toBe("none");
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "config", scripts: {} }));
    expect(await install(dir)).toBe("none");
    expect(hasDependencies({ dependencies: { x: "1" } })).toBe(true);
    expect(hasDependencies({ optionalDependencies: { x: "1" } })).toBe(true);
    // tooling only (what `muster check` suggests adding): nothing for a server, no lock file needed
    expect(hasDependencies({ devDependencies: { typescript: "7.0.2" } })).toBe(false);
    writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({ devDependencies: { typescript: "7.0.2" } }),
    );
    expect(await install(dir)).toBe("none");
    expect(hasDependencies({ dependencies: {} })).toBe(false);
  });

  it("npm ci from the lock file, then nothing while the lock file is the same", async () => {
    const dir = tmpDir();
    repoWithLocalDependency(dir);
    expect(await install(dir)).toBe("installed");
    expect(readlinkSync(path.join(dir, "node_modules/helper"))).toBe("../vendor/helper");
    expect(await install(dir)).toBe("up-to-date");
  });

  it("the repository's devDependencies (its tooling) are not installed on the server", async () => {
    const dir = tmpDir();
    repoWithLocalDependency(dir);
    const devtool = "vendor/devtool";
    writeFileSync(path.join(dir, "package.json"), localDependencyFiles("ok", true)["package.json"]!);
    writeFileSync(
      path.join(dir, "package-lock.json"),
      localDependencyFiles("ok", true)["package-lock.json"]!,
    );
    mkdirSync(path.join(dir, devtool));
    writeFileSync(
      path.join(dir, devtool, "package.json"),
      JSON.stringify({ name: "devtool", version: "1.0.0" }),
    );
    expect(await install(dir)).toBe("installed");
    expect(readlinkSync(path.join(dir, "node_modules/helper"))).toBe("../vendor/helper");
    expect(existsSync(path.join(dir, "node_modules/devtool"))).toBe(false);
  });

  it("dependencies without a lock file are an error that says what to do", async () => {
    const dir = tmpDir();
    repoWithLocalDependency(dir, false);
    const err = await install(dir).catch((e) => e);
    expect(err.name).toBe("InputError");
    expect(err.message).toBe(
      "config repo package.json has dependencies but no package-lock.json; run `npm install` in the config repo and commit the lock file",
    );
    expect(existsSync(path.join(dir, "node_modules"))).toBe(false);
  });

  it("a failing npm ci is a run error naming npm's reason", async () => {
    const dir = tmpDir();
    repoWithLocalDependency(dir);
    writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({
        name: "config",
        dependencies: { helper: "file:./vendor/helper", other: "file:./vendor/other" },
      }),
    );
    const err = await install(dir).catch((e) => e);
    expect(err.name).toBe("RunError");
    expect(err.message).toMatch(/^npm ci in the config repo failed: .*in sync/);
  });
});
