/** The boot-side commands as registered: schemas, help, and that nothing heavy loads up front. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../boot/testing/fixture.ts";
import { cleanupTmp, muster, packageCopy, tmpDir } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

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

  it("health serve: an address not of this machine, or a path no request can name, is bad input", async () => {
    const root = tmpDir();
    const host = await muster(["health", "serve", "--root", root, "--port", "0", "--host", "999.1.1.1"]);
    expect([host.code, host.stdout]).toEqual([2, ""]);
    expect(host.stderr).toBe(
      "muster: --host 999.1.1.1: not an address of this machine (ENOTFOUND); give one of its addresses, or 0.0.0.0\n",
    );
    const spaced = await muster([
      "health",
      "serve",
      "--root",
      root,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--path",
      "/a b",
    ]);
    expect([spaced.code, spaced.stderr]).toEqual([
      2,
      "muster: --path /a b: must start with / and hold no space, ? or # (no request could reach it)\n",
    ]);
  });

  it("gate status and status tell a directory at the gate's or the record's path, not as an unexpected error", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "var/lib/muster/gate.json"), { recursive: true });
    const gate = await muster(["gate", "status", "--root", root, "--boot-id", "b-1"]);
    expect([gate.code, gate.stderr]).toEqual([3, ""]);
    expect(gate.stdout).toContain("a directory is at the gate file's path, not a gate file");
    const json = await muster(["gate", "status", "--root", root, "--boot-id", "b-1", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ state: "closed" });
    mkdirSync(path.join(root, "var/lib/muster/last-run.json"));
    const status = await muster(["status", "--root", root, "--boot-id", "b-1"]);
    expect(status.code).toBe(1);
    expect(status.stdout + status.stderr).toContain("last-run.json cannot be read as a record (EISDIR)");
    expect(status.stderr).not.toContain("unexpected error");
  });

  it("muster boot --help names the stages and the exit codes", async () => {
    const res = await muster(["boot", "--help"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("--periodic");
    expect(res.stdout).toContain("Exit codes: 0 gate open");
  });

  it("no command body and no AWS SDK runs before its command does", async () => {
    // esbuild wraps each module reached only through import() in an init function (`__esm`,
    // `__commonJS` for a CommonJS one); a copy of the bundle whose wrappers record every module
    // they run shows which ran
    const esm = "var __esm = (fn, res, err) => function __init() {\n";
    const cjs = "var __commonJS = (cb, mod) => function __require() {\n";
    const pkg = packageCopy((bundle) => {
      expect(bundle.split(esm)).toHaveLength(2);
      expect(bundle.split(cjs)).toHaveLength(2);
      return bundle
        .replace(esm, `${esm}  if (fn) (globalThis.__musterRan ??= []).push(__getOwnPropNames(fn)[0]);\n`)
        .replace(cjs, `${cjs}  if (!mod) (globalThis.__musterRan ??= []).push(__getOwnPropNames(cb)[0]);\n`);
    });
    const hook = path.join(pkg.dir, "ran.cjs");
    writeFileSync(
      hook,
      'process.on("exit", () => require("node:fs").writeFileSync(process.env.RAN_FILE, (globalThis.__musterRan ?? []).join("\\n")));\n',
    );
    let runs = 0;
    const ran = async (args: string[]): Promise<string[]> => {
      const out = path.join(pkg.dir, `ran-${++runs}.txt`);
      const res = await muster(args, { bin: pkg.bin, node: ["--require", hook], env: { RAN_FILE: out } });
      expect(res.stderr).not.toContain("muster: "); // ran, and not into bad input
      return readFileSync(out, "utf8").split("\n").filter(Boolean);
    };
    const sdk = (mods: string[]) => mods.filter((m) => m.includes("node_modules/@aws-sdk/"));
    // what --version and a help text must not pay for: the bodies, the SDK, validation, logging
    const heavy = (mods: string[]) =>
      mods.filter((m) =>
        /^src\/(cli\/run-|boot\/|cloud\/|fleet\/|runner\/)|node_modules\/(@aws-sdk|@smithy|zod|yaml|pino)\//.test(
          m,
        ),
      );

    // validation and YAML do run where they are used
    const schema = await ran(["schema", "boot"]);
    expect(schema.some((m) => m.includes("node_modules/zod/"))).toBe(true);
    expect(schema.some((m) => m.includes("node_modules/yaml/"))).toBe(true);

    const version = await ran(["--version"]);
    expect(version).toContain("src/version.ts"); // the records work
    expect(heavy(version)).toEqual([]);
    expect(heavy(await ran(["boot", "--help"]))).toEqual([]);
    // a boot that gets as far as identify (nothing answers at the metadata endpoint) runs the
    // boot's body and the SDK's metadata client, and no fleet
    const root = tmpDir("muster-lazy-root-");
    const closed = `http://127.0.0.1:${await freePort()}`;
    mkdirSync(path.join(root, "etc/muster"), { recursive: true });
    writeFileSync(
      path.join(root, "etc/muster/boot.json"),
      JSON.stringify({
        repo: { url: path.join(root, "none.git") },
        endpoints: { metadata: closed, autoscaling: closed, region: "us-east-1" },
        timeouts: { metadata: 0.2 },
        retries: { attempts: 1, backoffBase: 0.01, backoffCap: 0.01, deadline: 5 },
      }),
    );
    const boot = await ran(["boot", "--root", root]);
    expect(boot).toContain("src/cli/run-boot.ts");
    expect(sdk(boot).some((m) => m.includes("@aws-sdk/ec2-metadata-service/"))).toBe(true);
    expect(boot.filter((m) => m.startsWith("src/fleet/"))).toEqual([]);
  });
});
