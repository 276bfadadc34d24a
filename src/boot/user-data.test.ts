/**
 * The user data of `muster install --print-user-data`: valid cloud-config, no muster it cannot
 * verify, and install steps that check every download before it runs: run here in a sandbox (a
 * mount namespace whose /usr/local is a temporary directory, and fake curl, npm, node and apt on
 * PATH) against a tampered file and the right one.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { exec } from "../host/exec.ts";
import { cleanupTmp, muster, tmpDir } from "../test-support/tmp.ts";
import { cloudInitUserData, PINNED_NODE, type UserDataSettings } from "./user-data.ts";

afterAll(cleanupTmp);

const X64 = "a".repeat(64);
const ARM64 = "b".repeat(64);
const RELEASE = [
  "--release-url",
  "https://downloads.example.test/muster-fleet-0.1.0-linux-x64.tgz",
  "--release-sha256",
  X64,
  "--release-url",
  "https://downloads.example.test/muster-fleet-0.1.0-linux-arm64.tgz",
  "--release-sha256",
  ARM64,
];
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

function bootConfigFile(config: object = { repo: { url: "https://git.example.test/config.git" } }): string {
  const file = path.join(tmpDir(), "boot.json");
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe("muster install --print-user-data", () => {
  it("carries the boot config, checked installs of Node.js and muster, the units and the first boot", async () => {
    const config = bootConfigFile();
    const res = await muster(["install", "--print-user-data", "--config", config, ...RELEASE]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout.startsWith("#cloud-config\n")).toBe(true);
    const doc = YAML.parse(res.stdout);
    expect(doc.write_files).toEqual([
      {
        path: "/etc/muster/boot.json",
        permissions: "0644",
        owner: "root:root",
        content: `${readFileSync(config, "utf8")}\n`,
      },
    ]);
    const [errexit, node, install, ...rest] = doc.runcmd as string[][];
    // the first line makes the whole runcmd script stop at a step that fails
    expect(errexit).toBe("set -e");
    // the pinned Node.js and its published SHA-256 for each CPU
    expect(node![2]).toContain(`https://nodejs.org/dist/v${PINNED_NODE.version}/$file`);
    expect(node![2]).toContain(`x86_64) arch=x64 sum=${PINNED_NODE.sha256.x64} ;;`);
    expect(node![2]).toContain(`aarch64) arch=arm64 sum=${PINNED_NODE.sha256.arm64} ;;`);
    expect(install![2]).toContain(
      `x86_64) url=https://downloads.example.test/muster-fleet-0.1.0-linux-x64.tgz sum=${X64} ;;`,
    );
    expect(install![2]).toContain(
      `aarch64) url=https://downloads.example.test/muster-fleet-0.1.0-linux-arm64.tgz sum=${ARM64} ;;`,
    );
    expect(rest.map((c) => c.join(" "))).toEqual([
      "sh -c PATH=/usr/local/bin:$PATH muster install --root /",
      "systemctl daemon-reload",
      "systemctl start --no-block muster-converge.timer",
      "systemctl start --no-block muster-boot.service muster-watch.service",
    ]);
    for (const step of [node!, install!]) {
      expect(step.slice(0, 2)).toEqual(["sh", "-c"]);
      expect((await exec(["sh", "-n", "-c", step[2]!])).code).toBe(0);
    }
  });

  it.skipIf(!existsSync("/usr/bin/cloud-init"))(
    "is valid cloud-config for cloud-init's own schema check (skipped where cloud-init is not installed)",
    async () => {
      const dir = tmpDir();
      for (const [name, extra] of [
        ["release.yaml", RELEASE],
        ["package.yaml", ["--package", "muster-fleet@0.1.0", "--integrity", `sha512-${"A".repeat(86)}==`]],
      ] as const) {
        const res = await muster(["install", "--print-user-data", "--config", bootConfigFile(), ...extra]);
        expect(res.code, res.stderr).toBe(0);
        const file = path.join(dir, name);
        writeFileSync(file, res.stdout);
        const check = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
        expect(check.stdout + check.stderr).toContain(`Valid cloud-config: ${file}`);
        expect(check.status).toBe(0);
      }
      // and the check can fail: a runcmd that is not a list
      const bad = path.join(dir, "bad.yaml");
      writeFileSync(bad, "#cloud-config\nruncmd: 42\n");
      expect(spawnSync("cloud-init", ["schema", "--config-file", bad]).status).not.toBe(0);
    },
  );

  it("installs no muster it cannot verify: without a source, or with a bad one, one line each and exit 2", async () => {
    const config = bootConfigFile();
    const cases: [string[], string][] = [
      [
        [],
        "install --print-user-data: the user data installs only a muster it can verify; give --release-url URL",
      ],
      [
        [
          "--release-url",
          "https://h.example.test/muster-fleet-0.1.0-linux-x64.tgz",
          "--release-sha256",
          "abc",
        ],
        "install --release-sha256 abc: not a SHA-256",
      ],
      [
        ["--release-url", "https://h.example.test/muster.tgz", "--release-sha256", X64],
        "install --release-url https://h.example.test/muster.tgz: not a release archive name",
      ],
      [
        ["--release-url", "https://h.example.test/muster-fleet-0.1.0-linux-x64.tgz"],
        "install --release-url/--release-sha256: 1 URL(s) and 0 SHA-256(s)",
      ],
      [
        ["--release-url", "https://[h/muster-fleet-0.1.0-linux-x64.tgz", "--release-sha256", X64],
        "install --release-url https://[h/muster-fleet-0.1.0-linux-x64.tgz: give an http(s) URL the server can download",
      ],
      [
        // attack: a token that would sit in the user data and on the download's command line
        [
          "--release-url",
          "https://deploy:RELEASETOKEN@h.example.test/muster-fleet-0.1.0-linux-x64.tgz",
          "--release-sha256",
          X64,
        ],
        "install --release-url https://***@h.example.test/muster-fleet-0.1.0-linux-x64.tgz: holds credentials",
      ],
      [
        ["--package", "muster-fleet@0.1.0"],
        "install --integrity (none): give the package's sha512 integrity",
      ],
      [
        ["--package", "muster-fleet@latest", "--integrity", `sha512-${"A".repeat(86)}==`],
        "install --package muster-fleet@latest: give a name and an exact version",
      ],
      // installed as muster and run as root: only muster's own package, never a look-alike
      [
        ["--package", "muster@0.1.0", "--integrity", `sha512-${"A".repeat(86)}==`],
        "install --package muster@0.1.0: muster is not muster's package (muster-fleet); give muster-fleet@X.Y.Z",
      ],
      [
        ["--package", "@acme/left-pad@1.3.0", "--integrity", `sha512-${"A".repeat(86)}==`],
        "install --package @acme/left-pad@1.3.0: @acme/left-pad is not muster's package (muster-fleet)",
      ],
      [
        // a version alone: one line for the two digests it needs
        [...RELEASE, "--node-version", "20.20.0"],
        "install --node-version 20.20.0: give --node-sha256-x64 and --node-sha256-arm64 too, the SHA-256 of node-v20.20.0-linux-{x64,arm64}.tar.xz from that release's SHASUMS256.txt\n",
      ],
      [
        [...RELEASE, "--node-version", "20.20.0", "--node-sha256-x64", X64],
        "install --node-sha256-arm64 (none): give the SHA-256 of node-v20.20.0-linux-arm64.tar.xz",
      ],
      [
        [...RELEASE, "--node-version", "18.20.0", "--node-sha256-x64", X64, "--node-sha256-arm64", ARM64],
        "install --node-version 18.20.0: give a Node.js version of 20 or later",
      ],
    ];
    for (const [flags, message] of cases) {
      const res = await muster(["install", "--print-user-data", "--config", config, ...flags]);
      expect(res.code, flags.join(" ")).toBe(2);
      expect(res.stdout).toBe("");
      expect(res.stderr).toContain(`muster: ${message}`);
      expect(res.stderr).not.toContain("RELEASETOKEN");
    }
  });

  it("a boot config with a token is written readable by root only; the health endpoint starts with gate.http", () => {
    const settings: UserDataSettings = {
      bootConfig: JSON.stringify({ repo: { url: "https://deploy:tok3n@git.example.test/config.git" } }),
      bootConfigFormat: "json",
      muster: { kind: "package", spec: "muster-fleet@0.1.0", sha512: "c".repeat(128) },
      node: PINNED_NODE,
      health: false,
      watch: true,
    };
    expect(YAML.parse(cloudInitUserData(settings)).write_files[0].permissions).toBe("0600");
    // the same token in a config whose JSON escapes its slashes, as some writers do
    const escaped = '{"repo": {"url": "https:\\/\\/deploy:tok3n@git.example.test\\/config.git"}}';
    expect(JSON.parse(escaped).repo.url).toBe("https://deploy:tok3n@git.example.test/config.git");
    expect(
      YAML.parse(cloudInitUserData({ ...settings, bootConfig: escaped })).write_files[0].permissions,
    ).toBe("0600");
    expect(cloudInitUserData(settings)).not.toContain("muster-health.service");
    expect(cloudInitUserData({ ...settings, health: true })).toContain("muster-health.service");
  });

  it("refuses a boot config with a token, as the CDK construct does: every process on the server could read it from the user data", async () => {
    const config = bootConfigFile({ repo: { url: "https://deploy:tok3n@git.example.test/config.git" } });
    const refusal =
      "muster: install --print-user-data: the boot config holds a URL with credentials, which every process on the server could read from the user data (the metadata service); use an ssh URL with a deploy key, or write the boot config from a secrets store at launch\n";
    // first as written by an editor (0644): the refusal is the one that no file mode can cure, not
    // "chmod 600 it", which would only lead to this refusal next
    chmodSync(config, 0o644);
    const open = await muster(["install", "--print-user-data", "--config", config, ...RELEASE]);
    expect([open.code, open.stdout, open.stderr]).toEqual([2, "", refusal]);
    chmodSync(config, 0o600);
    const res = await muster(["install", "--print-user-data", "--config", config, ...RELEASE]);
    expect([res.code, res.stdout, res.stderr]).toEqual([2, "", refusal]);
  });

  it("starts muster-watch.service with the boot exactly when `muster install` enables it", async () => {
    const configs = {
      metadata: { repo: { url: "https://git.example.test/config.git" } },
      "metadata off": {
        repo: { url: "https://git.example.test/config.git" },
        role: "static:web",
        endpoints: { metadata: "off" },
      },
    };
    for (const [name, body] of Object.entries(configs)) {
      const config = bootConfigFile(body);
      const res = await muster(["install", "--print-user-data", "--config", config, ...RELEASE]);
      expect(res.code, res.stderr).toBe(0);
      const started = (YAML.parse(res.stdout).runcmd as string[][])
        .filter((c) => c[0] === "systemctl" && c[1] === "start")
        .flatMap((c) => c.slice(3));
      const root = tmpDir();
      const installed = await muster(["install", "--root", root, "--config", config]);
      expect(installed.code, installed.stderr).toBe(0);
      const enabled = [...installed.stdout.matchAll(/^enabled (\S+)/gm)].map((m) => m[1]);
      expect(enabled, name).toContain("muster-boot.service");
      expect(started.includes("muster-watch.service"), name).toBe(enabled.includes("muster-watch.service"));
      expect(started.includes("muster-watch.service"), name).toBe(name === "metadata");
    }
  });

  it("an S3 source: the bucket, key and digest per CPU, the AWS CLI's copy, checked before npm", () => {
    const doc = YAML.parse(
      cloudInitUserData({
        bootConfig: "{}",
        bootConfigFormat: "json",
        muster: {
          kind: "s3",
          region: "eu-west-1",
          archives: {
            x64: { bucket: "cdk-assets-1-eu-west-1", key: "abc.tgz", sha256: X64 },
            arm64: { bucket: "cdk-assets-1-eu-west-1", key: "def.tgz", sha256: ARM64 },
          },
        },
        node: PINNED_NODE,
        health: false,
        watch: false,
      }),
    );
    const install: string = doc.runcmd[2][2];
    expect(install).toContain(`x86_64) bucket=cdk-assets-1-eu-west-1 key=abc.tgz sum=${X64} ;;`);
    expect(install).toContain(`aarch64) bucket=cdk-assets-1-eu-west-1 key=def.tgz sum=${ARM64} ;;`);
    const lines = install.split("\n");
    const copy = lines.findIndex((l) => l.startsWith("aws s3 cp "));
    const check = lines.findIndex((l) => l.includes("sha256sum -c"));
    const npm = lines.findIndex((l) => l.includes("npm install --global --offline"));
    expect(lines[copy]).toBe(
      'aws s3 cp --only-show-errors --region eu-west-1 "s3://$bucket/$key" "$dir/$file"',
    );
    expect(copy).toBeGreaterThan(0);
    expect(check).toBeGreaterThan(copy);
    expect(npm).toBeGreaterThan(check);
    expect(install).not.toContain("curl");
    expect(spawnSync("sh", ["-n", "-c", install]).status).toBe(0);
  });

  it("needs a boot config to carry", async () => {
    const res = await muster(["install", "--print-user-data", "--root", tmpDir(), ...RELEASE]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("the user data carries the boot config; pass --config FILE");
  });
});

/** This machine's CPU as the scripts name it (they read `uname -m`). */
const ARCH = process.arch === "arm64" ? "arm64" : "x64";

/**
 * A sandbox for the install steps: fake curl (serves files from serve/ by the URL's last
 * segment), node (18: too old), apt-cache (its candidate from FAKE_CANDIDATE), apt-get and npm
 * (`npm pack` serves serve/pack.tgz), each logging its arguments; the step runs in a mount
 * namespace where /usr/local is the sandbox's own.
 */
function sandbox() {
  const dir = tmpDir("muster-userdata-");
  for (const d of ["bin", "serve", "usr-local"]) mkdirSync(path.join(dir, d));
  const log = path.join(dir, "log");
  const fake = (name: string, body: string) =>
    writeFileSync(path.join(dir, "bin", name), `#!/bin/sh\necho "${name} $*" >> '${log}'\n${body}\n`, {
      mode: 0o755,
    });
  fake(
    "curl",
    `out=; url=; while [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift ;; -*) ;; *) url=$1 ;; esac; shift; done
src='${dir}/serve/'$(basename "$url"); [ -f "$src" ] || exit 22; cp "$src" "$out"`,
  );
  fake(
    "aws",
    `[ "$1 $2" = "s3 cp" ] || exit 2; src=; out=; for a; do case "$a" in s3://*) src=$a ;; -*|s3|cp) ;; *) out=$a ;; esac; done
f='${dir}/serve/'$(basename "$src"); [ -f "$f" ] || exit 1; cp "$f" "$out"`,
  );
  fake("node", "echo 18");
  fake(
    "apt-cache",
    `cand=$FAKE_CANDIDATE; [ -n "$cand" ] || cand=18.19.0+dfsg-6~deb12u2\necho "nodejs:"; echo "  Installed: (none)"; echo "  Candidate: $cand"`,
  );
  fake("apt-get", "exit 0");
  fake(
    "npm",
    `if [ "$1" = pack ]; then cp '${dir}/serve/pack.tgz' muster-fleet-1.2.3.tgz; echo muster-fleet-1.2.3.tgz; fi`,
  );
  const run = (script: string, env: Record<string, string> = {}) => {
    const r = spawnSync(
      "unshare",
      [
        "--mount",
        "sh",
        "-c",
        'mount --bind "$1" /usr/local && exec sh -c "$2"',
        "sh",
        path.join(dir, "usr-local"),
        script,
      ],
      { encoding: "utf8", env: { PATH: `${dir}/bin:/usr/bin:/bin`, ...env } },
    );
    return { code: r.status, stderr: r.stderr, log: existsSync(log) ? readFileSync(log, "utf8") : "" };
  };
  /** a tar.xz whose one top directory holds `files` */
  const tarball = (name: string, top: string, files: Record<string, string>) => {
    const src = path.join(dir, `src-${name}`);
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(src, top, f)), { recursive: true });
      writeFileSync(path.join(src, top, f), text);
    }
    execFileSync("tar", ["-cJf", path.join(dir, "serve", name), "-C", src, top]);
    return readFileSync(path.join(dir, "serve", name));
  };
  const serve = (name: string, bytes: Buffer) => writeFileSync(path.join(dir, "serve", name), bytes);
  return { dir, run, tarball, serve, usrLocal: () => readdirSync(path.join(dir, "usr-local")) };
}

function steps(settings: Partial<UserDataSettings>): { node: string; install: string } {
  const doc = YAML.parse(
    cloudInitUserData({
      bootConfig: "{}",
      bootConfigFormat: "json",
      muster: { kind: "release", archives: {} },
      node: PINNED_NODE,
      health: false,
      watch: true,
      ...settings,
    }),
  );
  return { node: doc.runcmd[1][2], install: doc.runcmd[2][2] };
}

/** The install step for muster-fleet@1.2.3 from the registry, whose tarball is `bytes`. */
const registryInstall = (bytes: Buffer) =>
  steps({
    muster: {
      kind: "package",
      spec: "muster-fleet@1.2.3",
      sha512: createHash("sha512").update(bytes).digest("hex"),
    },
  }).install;

/** the sandbox binds its own /usr/local over the real one in a mount namespace of its own: root only */
const CAN_UNSHARE = spawnSync("unshare", ["--mount", "true"]).status === 0;

describe.skipIf(!CAN_UNSHARE)(
  `the user data's install steps, run in a sandbox${CAN_UNSHARE ? "" : " (skipped: needs root for a mount namespace)"}`,
  () => {
    it("Node.js tarball: a tampered file fails the SHA-256 check before tar; the right one is unpacked", () => {
      const box = sandbox();
      const version = "20.99.0";
      const name = `node-v${version}-linux-${ARCH}.tar.xz`;
      const top = `node-v${version}-linux-${ARCH}`;
      const right = box.tarball(name, top, { "bin/node": "the real node\n" });
      const node = { version, sha256: { x64: sha256(right), arm64: sha256(right) } };
      const script = steps({ node }).node;

      // the attack: the download is swapped for another tarball
      box.tarball(name, top, { "bin/node": "someone else's node\n", "bin/evil": "ran\n" });
      const tampered = box.run(script);
      expect(tampered.code).not.toBe(0);
      expect(tampered.stderr).toContain("computed checksum did NOT match");
      expect(tampered.log).toContain(`curl -fsSL --retry 5 -o`);
      expect(box.usrLocal()).toEqual([]); // nothing unpacked

      box.serve(name, right);
      const good = box.run(script);
      expect(good.stderr).toBe("");
      expect(good.code).toBe(0);
      expect(readFileSync(path.join(box.dir, "usr-local/bin/node"), "utf8")).toBe("the real node\n");
    });

    it("Node.js from the distribution when its candidate is 20 or later; nothing downloaded", () => {
      const box = sandbox();
      const r = box.run(steps({}).node, { FAKE_CANDIDATE: "20.19.2+dfsg-1" });
      expect(r.code).toBe(0);
      expect(r.log).toContain("apt-get install -y nodejs npm");
      expect(r.log).not.toContain("curl");
    });

    it("muster release archive: a tampered file fails before npm runs; the right one is installed offline", () => {
      const box = sandbox();
      const archive = `muster-fleet-0.1.0-linux-${ARCH}.tgz`;
      const right = box.tarball(archive, "package", { "package.json": '{"name":"muster-fleet"}' });
      const script = steps({
        muster: {
          kind: "release",
          archives: { [ARCH]: { url: `https://downloads.example.test/${archive}`, sha256: sha256(right) } },
        },
      }).install;

      box.tarball(archive, "package", { "package.json": '{"name":"muster-fleet","scripts":{"x":"evil"}}' });
      const tampered = box.run(script);
      expect(tampered.code).not.toBe(0);
      expect(tampered.stderr).toContain("computed checksum did NOT match");
      expect(tampered.log).not.toContain("npm");

      box.serve(archive, right);
      const good = box.run(script);
      expect(good.stderr).toBe("");
      expect(good.code).toBe(0);
      expect(good.log).toMatch(
        /^npm install --global --offline --no-fund --no-audit \/\S+\/muster-fleet\.tgz$/m,
      );
    });

    it("muster release archive in S3: fetched with the AWS CLI, a tampered file fails before npm runs", () => {
      const box = sandbox();
      const right = box.tarball("0123abcd.tgz", "package", { "package.json": '{"name":"muster-fleet"}' });
      const script = steps({
        muster: {
          kind: "s3",
          region: "eu-west-1",
          archives: { [ARCH]: { bucket: "assets-bucket", key: "0123abcd.tgz", sha256: sha256(right) } },
        },
      }).install;

      box.tarball("0123abcd.tgz", "package", {
        "package.json": '{"name":"muster-fleet","scripts":{"x":"evil"}}',
      });
      const tampered = box.run(script);
      expect(tampered.code).not.toBe(0);
      expect(tampered.stderr).toContain("computed checksum did NOT match");
      expect(tampered.log).toMatch(
        /^aws s3 cp --only-show-errors --region eu-west-1 s3:\/\/assets-bucket\/0123abcd\.tgz \/\S+\/muster-fleet\.tgz$/m,
      );
      expect(tampered.log).not.toContain("npm");

      box.serve("0123abcd.tgz", right);
      const good = box.run(script);
      expect(good.stderr).toBe("");
      expect(good.code).toBe(0);
      expect(good.log).toMatch(
        /^npm install --global --offline --no-fund --no-audit \/\S+\/muster-fleet\.tgz$/m,
      );
    });

    it("muster release archive for another CPU only: refused before any download", () => {
      const box = sandbox();
      const other = ARCH === "x64" ? "arm64" : "x64";
      const script = steps({
        muster: {
          kind: "release",
          archives: { [other]: { url: "https://h.example.test/a.tgz", sha256: X64 } },
        },
      }).install;
      const r = box.run(script);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/^muster: this user data has no muster release archive for this CPU/);
      expect(r.log).toBe("");
    });

    it("muster from the registry: checked against its integrity, then npm ci of what its shrinkwrap pins", () => {
      const box = sandbox();
      const files = {
        "package.json": '{"name":"muster-fleet"}',
        "npm-shrinkwrap.json": '{"lockfileVersion":3}',
        "bin/muster.js": "#!/usr/bin/env node\n",
      };
      const right = box.tarball("pack.tgz", "package", files);
      const script = registryInstall(right);

      box.tarball("pack.tgz", "package", { ...files, "package.json": '{"name":"muster-fleet","evil":true}' });
      const tampered = box.run(script);
      expect(tampered.code).not.toBe(0);
      expect(tampered.log).toContain("npm pack --silent muster-fleet@1.2.3");
      expect(tampered.log).not.toMatch(/npm (ci|install)/);
      expect(box.usrLocal()).toEqual([]);

      box.serve("pack.tgz", right);
      const good = box.run(script);
      expect(good.code, good.stderr).toBe(0);
      expect(good.log).toMatch(/^npm ci --omit=dev --ignore-scripts --no-fund --no-audit$/m);
      expect(good.log).not.toContain("npm install");
      const home = path.join(box.dir, "usr-local/lib/node_modules/muster-fleet");
      expect(readFileSync(path.join(home, "package.json"), "utf8")).toBe('{"name":"muster-fleet"}');
      expect(readlinkSync(path.join(box.dir, "usr-local/bin/muster"))).toBe(
        "../lib/node_modules/muster-fleet/bin/muster.js",
      );
    });

    it("muster from the registry without a shrinkwrap: refused, since its dependencies are not pinned", () => {
      const box = sandbox();
      const bare = box.tarball("pack.tgz", "package", { "package.json": '{"name":"muster-fleet"}' });
      const r = box.run(registryInstall(bare));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("muster: muster-fleet@1.2.3 has no npm-shrinkwrap.json");
      expect(r.log).not.toMatch(/npm (ci|install)/);
      expect(box.usrLocal()).toEqual([]);
    });
  },
);

describe("user data for Amazon Linux 2023", () => {
  const userData = (platform?: "debian" | "al2023") =>
    cloudInitUserData({
      bootConfig: '{"repo":{"url":"https://git.example.test/config.git"}}',
      bootConfigFormat: "json",
      muster: {
        kind: "release",
        archives: { x64: { url: "https://downloads.example.test/m.tgz", sha256: X64 } },
      },
      node: PINNED_NODE,
      health: true,
      watch: true,
      platform,
    });

  it("installs Node.js 20 and git with dnf, not the nodejs.org tarball, and no apt packages", () => {
    const doc = YAML.parse(userData("al2023"));
    const first: string = doc.runcmd[1][2];
    expect(first).toContain("dnf install -y nodejs20 nodejs20-npm git");
    expect(first).not.toContain("nodejs.org");
    expect(doc.packages).toBeUndefined();
    expect(doc.package_update).toBeUndefined();
    expect(spawnSync("sh", ["-n", "-c", first]).status).toBe(0);
    // the rest is the same as on Debian: muster checked against its digest, its units, the first boot
    expect(doc.runcmd.slice(2)).toEqual(YAML.parse(userData()).runcmd.slice(2));
  });

  it("Debian stays the default: the checked tarball, and apt's packages", () => {
    const doc = YAML.parse(userData());
    expect(doc.runcmd[1][2]).toContain(`https://nodejs.org/dist/v${PINNED_NODE.version}/`);
    expect(doc.packages).toContain("git");
  });

  it.skipIf(!existsSync("/usr/bin/cloud-init"))(
    "is valid cloud-config for cloud-init's schema check (skipped where cloud-init is not installed)",
    () => {
      const file = path.join(tmpDir(), "user-data-al2023");
      writeFileSync(file, userData("al2023"));
      const check = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
      expect(check.status, check.stdout + check.stderr).toBe(0);
    },
  );

  it("--platform picks it on the command line; an unknown one is one line, exit 2", async () => {
    const args = ["install", "--print-user-data", "--config", bootConfigFile(), ...RELEASE];
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

describe("a step of the user data that fails stops every step after it", () => {
  const CLOUD_INIT_PYTHON = "/usr/bin/python3";
  // cloud-init writes runcmd as one /bin/sh script with its own util.shellify (cc_runcmd): that
  // very function makes the script here, which then runs with a failing first step
  const hasCloudInit =
    existsSync(CLOUD_INIT_PYTHON) &&
    spawnSync(CLOUD_INIT_PYTHON, ["-c", "import cloudinit.util"]).status === 0;

  it.runIf(hasCloudInit)("a Node.js step whose check fails: no muster install, no unit started", () => {
    const text = cloudInitUserData({
      bootConfig: '{"repo": {"url": "https://git.example.test/config.git"}}',
      bootConfigFormat: "json",
      muster: { kind: "release", archives: { x64: { url: "https://d.example.test/m.tgz", sha256: X64 } } },
      node: PINNED_NODE,
      health: false,
      watch: true,
    });
    const runcmd = YAML.parse(text.replace(/^#cloud-config\n/, "")).runcmd;
    const script = execFileSync(
      CLOUD_INIT_PYTHON,
      [
        "-c",
        "import json,sys; from cloudinit import util; sys.stdout.write(util.shellify(json.load(sys.stdin)))",
      ],
      { input: JSON.stringify(runcmd), encoding: "utf8" },
    );
    // every command a step runs is a stand-in that records itself; the first step's sh fails,
    // as a Node.js tarball whose SHA-256 does not match makes it
    const dir = tmpDir();
    const bin = path.join(dir, "bin");
    mkdirSync(bin);
    const log = path.join(dir, "ran");
    const stub = (name: string, body: string) => {
      writeFileSync(path.join(bin, name), `#!/bin/dash\necho "${name} $1" >> ${log}\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    stub("sh", `[ -e ${log}.once ] || { : > ${log}.once; exit 1; }`);
    stub("systemctl", "");
    writeFileSync(path.join(dir, "runcmd"), script);
    const res = spawnSync("/bin/dash", [path.join(dir, "runcmd")], {
      env: { PATH: bin },
      encoding: "utf8",
    });
    expect(res.status).not.toBe(0);
    // the first step ran and failed; nothing after it
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual(["sh -c"]);
  });
});
