import { chmodSync, chownSync, lchownSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../core/errors.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import {
  bootConfigJsonSchema,
  gateFilesOfBrokenConfig,
  gateSettings,
  gatesAnyConfigCouldName,
  loadBootConfig,
  parseBootConfig,
  repoUrlProblem,
} from "./boot-config.ts";

afterAll(cleanupTmp);

describe("boot config", () => {
  it("fills every default from a minimal config", () => {
    const c = parseBootConfig({ repo: { url: "https://git.example.test/config.git" } }, "boot.json");
    expect(c.repo).toEqual({
      url: "https://git.example.test/config.git",
      ref: "master",
      depth: 1,
      follow: false,
    });
    expect(c.role).toEqual({ source: { kind: "security-groups" }, preference: undefined });
    expect(c.gate).toEqual({ file: "/var/lib/muster/gate.json", http: undefined });
    expect(c.retries).toEqual({
      attempts: 3,
      backoffBaseMs: 5000,
      backoffCapMs: 60_000,
      jitter: 0.3,
      deadlineMs: 1_800_000,
    });
    expect(c.timeouts).toEqual({ metadataMs: 2000, lifecycleMs: 5000, gitMs: 120_000, depsMs: 900_000 });
    expect(c.periodic).toEqual({ intervalMs: 1_800_000, closeGateOnFailure: false });
    expect(c.stateDir).toBe("/var/lib/muster");
    expect(c.checks).toEqual([]);
    expect(c.lifecycle).toBeUndefined();
  });

  it("reads every field", () => {
    const c = parseBootConfig(
      {
        repo: {
          url: "git@github.com:acme/config.git",
          ref: "v1.2",
          depth: 0,
          sshKey: "/etc/muster/deploy_key",
          knownHosts: "/etc/muster/known_hosts",
          verify: { allowedSigners: "/etc/muster/allowed_signers" },
        },
        role: { source: "tag:Role", preference: ["web"] },
        gate: { file: "/var/www/html/ping.html", http: { port: 8099 } },
        lifecycle: { hook: "launch", group: "web-asg", heartbeatInterval: 30, onFailure: "none" },
        retries: { attempts: 5, backoffBase: 1, backoffCap: 10, jitter: 0, deadline: 600 },
        checks: [{ url: "http://127.0.0.1:8080/health" }],
        endpoints: {
          metadata: "http://127.0.0.1:1338",
          autoscaling: "http://127.0.0.1:4566",
          region: "eu-west-1",
        },
        timeouts: { metadata: 1, lifecycle: 2, git: 30, deps: 60 },
        attributes: { app: { repo: "https://git.example.test/app.git" } },
        environment: "production",
        periodic: { interval: 600, closeGateOnFailure: true },
        image: { clean: ["/srv/app"] },
        stateDir: "/var/lib/muster-alt",
      },
      "boot.json",
    );
    expect(c.role).toEqual({ source: { kind: "tag", key: "Role" }, preference: ["web"] });
    expect(c.gate).toEqual({
      file: "/var/www/html/ping.html",
      http: { port: 8099, host: "0.0.0.0", path: "/health" },
    });
    expect(c.checks).toEqual([{ url: "http://127.0.0.1:8080/health", status: 200, timeoutMs: 5000 }]);
    expect(c.lifecycle).toEqual({
      hook: "launch",
      group: "web-asg",
      heartbeatIntervalMs: 30_000,
      onFailure: "none",
    });
    // durations in the file are seconds, fractions allowed; parsed, milliseconds
    expect(c.retries).toEqual({
      attempts: 5,
      backoffBaseMs: 1000,
      backoffCapMs: 10_000,
      jitter: 0,
      deadlineMs: 600_000,
    });
    expect(c.timeouts).toEqual({ metadataMs: 1000, lifecycleMs: 2000, gitMs: 30_000, depsMs: 60_000 });
    expect(c.periodic).toEqual({ intervalMs: 600_000, closeGateOnFailure: true });
    expect(c.image.clean).toEqual(["/srv/app"]);
  });

  it("reports every problem at once, each with the file and the path", () => {
    let problems: string[] = [];
    try {
      parseBootConfig(
        {
          repo: { url: "http://git.example.test/x.git", depth: -1, sshKey: "deploy_key" },
          role: "tags:Role",
          gate: { http: { port: 99999 } },
          lifecycle: { onFailure: "retry" },
          retries: { backoffBase: 10, backoffCap: 1 },
          checks: [{ url: "ftp://x" }],
          colour: true,
        },
        "/etc/muster/boot.json",
      );
    } catch (err) {
      problems = (err as { problems: string[] }).problems;
    }
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/etc\/muster\/boot\.json: repo\.depth: /),
        expect.stringMatching(
          /^\/etc\/muster\/boot\.json: repo\.sshKey: must be an absolute path inside the root/,
        ),
        expect.stringMatching(/^\/etc\/muster\/boot\.json: gate\.http\.port: /),
        expect.stringMatching(/^\/etc\/muster\/boot\.json: lifecycle\.onFailure: /),
        expect.stringMatching(/^\/etc\/muster\/boot\.json: checks\[0\]\.url: expected an http/),
        '/etc/muster/boot.json: unknown field "colour"',
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(6);
  });

  it("checks what only the whole config can tell", () => {
    const problems = (data: unknown) => {
      try {
        parseBootConfig(data, "b.yaml");
        return [];
      } catch (err) {
        return (err as { problems: string[] }).problems;
      }
    };
    expect(problems({ repo: { url: "http://git.example.test/x.git" }, role: "tags:Role" })).toEqual([
      "b.yaml: repo.url: plain http:// is only allowed on loopback; use https:// or ssh://",
      'b.yaml: role: role source "tags:Role" is not one of security-groups, tag:<Key>, autoscaling-group, static:<name> or user-data',
    ]);
    expect(
      problems({ repo: { url: "/srv/config.git" }, retries: { backoffBase: 10, backoffCap: 1 } }),
    ).toEqual(["b.yaml: retries.backoffCap: must be at least backoffBase (10)"]);
    // the root as the gate file is one line saying so, not also "must be an absolute path"
    expect(problems({ repo: { url: "/srv/config.git" }, gate: { file: "/" } })).toEqual([
      "b.yaml: gate.file: names the root itself; give a path inside it",
    ]);
    expect(
      problems({
        repo: { url: "/srv/config.git" },
        endpoints: { metadata: "off" },
        lifecycle: { hook: "h" },
      }),
    ).toHaveLength(2);
    expect(
      problems({ repo: { url: "/srv/config.git" }, role: "static:web", endpoints: { metadata: "off" } }),
    ).toEqual([]);
    // one cause, one line: a later check does not say again what the field's own check said
    expect(problems({ repo: { url: "" } })).toEqual(["b.yaml: repo.url: must not be empty"]);
    expect(problems({ repo: { url: "/srv/config.git" }, gate: { file: "/x/.." } })).toEqual([
      'b.yaml: gate.file: must not contain ".."',
    ]);
    expect(problems({ repo: { url: "/srv/config.git" }, image: { clean: ["relative/x"] } })).toEqual([
      "b.yaml: image.clean[0]: must be an absolute path inside the root (start with /)",
    ]);
  });

  it("accepts the repository URL forms git uses, plain http only on loopback", () => {
    for (const ok of [
      "https://git.example.test/config.git",
      "ssh://git@git.example.test:2222/config.git",
      "git@github.com:acme/config.git",
      "file:///srv/git/config.git",
      "/srv/git/config.git",
      "http://127.0.0.1:9418/config.git",
      "http://localhost/config.git",
      "http://LOCALHOST/config.git",
      "http://127.77.0.3:8080/config.git",
      "http://[::1]:9418/config.git",
    ])
      expect(repoUrlProblem(ok), ok).toBeUndefined();
    for (const bad of [
      "http://git.example.test/config.git",
      "git://git.example.test/x.git",
      "config.git",
      "ftp://x/y",
      "http://127.0.0.1.example.test/config.git",
      "http://localhost.example.test/config.git",
    ])
      expect(repoUrlProblem(bad), bad).toBeDefined();
  });

  it("refuses, when the config is read, a URL git would refuse or misread only at the fetch", () => {
    const problem = (url: string) => {
      try {
        parseBootConfig({ repo: { url } }, "/etc/muster/boot.json");
        return undefined;
      } catch (err) {
        return (err as InputError).problems;
      }
    };
    const ssh = (part: string) =>
      `/etc/muster/boot.json: repo.url: the ${part} begins with "-", which ssh would take for an option (git refuses it: CVE-2017-1000117); check the URL`;
    const cases: [string, string][] = [
      [
        "https://exa mple.test/x.git",
        "/etc/muster/boot.json: repo.url: holds whitespace; remove it (a space in a URL's path is written %20)",
      ],
      ["git@git.example.test:ops/con fig.git", "holds whitespace"],
      ["file:///srv/my config.git", "holds whitespace"],
      ["https://git.example.test/x.git\u00a0", "holds whitespace"],
      [
        "https://git.example.test/x\ty.git",
        "/etc/muster/boot.json: repo.url: holds a control character (a tab, a newline, ...); remove it",
      ],
      ["https://git.example.test/x.git\n", "holds a control character"],
      ["/srv/git/config.git\u0000", "holds a control character"],
      ["ssh://git.example.test/x\u007f.git", "holds a control character"],
      ["ssh://-oProxyCommand=touch%20pwned/x", ssh("host")],
      ["ssh://git@-oProxyCommand=x/config.git", ssh("host")],
      ["ssh://-oProxyCommand=x@git.example.test/config.git", ssh("user")],
      ["ssh://git@git.example.test:-oProxyCommand=x/config.git", ssh("port")],
      ["-oProxy@git.example.test:config.git", '/etc/muster/boot.json: repo.url: begins with "-"'],
      ["git@-oProxy:config.git", ssh("host")],
      ["git@git.example.test:-oProxy", ssh("path")],
      [
        "https://-x.example.test/config.git",
        '/etc/muster/boot.json: repo.url: the host begins with "-", as no host name does; check the URL',
      ],
      ["file://-x/config.git", 'the host begins with "-"'],
      [
        "-config.git",
        '/etc/muster/boot.json: repo.url: begins with "-", which git would take for an option; give a URL, or a local path as ./-name',
      ],
    ];
    for (const [url, line] of cases) {
      const got = problem(url);
      expect(got, url).toHaveLength(1);
      expect(got![0], url).toContain(line);
    }
    // still taken: a token over https may begin with "-" (it never reaches ssh), a local path may
    // hold a space or begin ./-, and an IPv6 host with its port
    for (const ok of [
      "https://-tok@git.example.test/config.git",
      "/srv/my config.git",
      "./-config.git",
      "ssh://git@[2001:db8::1]:2222/config.git",
      "https://git.example.test/my%20config.git",
    ])
      expect(repoUrlProblem(ok), ok).toBeUndefined();
  });

  it("takes an environment that muster converge --environment takes: a name", () => {
    const environment = (value: string) => {
      try {
        return parseBootConfig({ repo: { url: "/srv/config.git" }, environment: value }, "b.json")
          .environment;
      } catch (err) {
        return (err as InputError).problems;
      }
    };
    for (const bad of ["prod env", "prod/eu", "prod\n", "prod,staging", "prød"])
      expect(environment(bad), bad).toEqual([
        'b.json: environment: expected a name of letters, digits, . _ - (such as "production")',
      ]);
    expect(environment("")).toEqual(["b.json: environment: must not be empty"]);
    for (const ok of ["production", "eu-west_1.canary", "A1"]) expect(environment(ok)).toBe(ok);
  });

  it("loads /etc/muster/boot.yaml under the root, or the --config file", () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "etc/muster"), { recursive: true });
    writeFileSync(
      path.join(root, "etc/muster/boot.yaml"),
      "repo:\n  url: /srv/config.git\nrole: static:web\n",
    );
    expect(loadBootConfig(root).role.source).toEqual({ kind: "static", name: "web" });
    expect(loadBootConfig(root).file).toBe("/etc/muster/boot.yaml");
    const other = path.join(tmpDir(), "b.json");
    writeFileSync(other, JSON.stringify({ repo: { url: "/x" }, gate: { file: "/www/ping.html" } }));
    expect(loadBootConfig(root, other).gate.file).toBe("/www/ping.html");
    expect(gateSettings(root, other).gateFile).toBe("/www/ping.html");
  });

  it("attack: a boot config another user could have written is refused, and one with a token that others can read", () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "etc/muster"), { recursive: true });
    const file = path.join(root, "etc/muster/boot.json");
    const plain = JSON.stringify({
      repo: { url: "https://git.example.test/config.git" },
      role: "static:web",
    });
    const withToken = plain.replace("https://", "https://deploy:s3cret@");
    writeFileSync(file, plain);
    // another user's repository would be converged as root
    chmodSync(file, 0o664);
    expect(() => loadBootConfig(root)).toThrow(
      /^\/etc\/muster\/boot\.json: writable by others \(mode 0664\); whoever can change the boot config chooses what root converges: chown root and chmod 600 it$/,
    );
    chmodSync(file, 0o644);
    chownSync(file, 65534, 65534);
    expect(() => gateSettings(root)).toThrow(/boot\.json: owned by uid 65534; whoever can change/);
    chownSync(file, 0, 0);
    expect(loadBootConfig(root).role.source).toEqual({ kind: "static", name: "web" });
    // the token: readable by every local user
    writeFileSync(file, withToken);
    expect(() => loadBootConfig(root)).toThrow(
      /^\/etc\/muster\/boot\.json: holds a URL with credentials and others can read it \(mode 0644\): chmod 600 it$/,
    );
    chmodSync(file, 0o600);
    expect(loadBootConfig(root).repo.url).toContain("s3cret");
    // gate close can still find the gates of a refused config
    chmodSync(file, 0o666);
    expect(gatesAnyConfigCouldName(root)).toEqual(["/var/lib/muster/gate.json"]);
  });

  it("attack: a boot config in a directory others may write, or reached through another user's link, is refused", () => {
    const root = tmpDir();
    const etc = path.join(root, "etc/muster");
    mkdirSync(etc, { recursive: true });
    const plain = JSON.stringify({
      repo: { url: "https://git.example.test/config.git" },
      role: "static:web",
    });
    writeFileSync(path.join(etc, "real.json"), plain);
    // every user may write /etc/muster: one of them swaps in a link to a config of their choosing
    chmodSync(etc, 0o777);
    symlinkSync("real.json", path.join(etc, "boot.json"));
    lchownSync(path.join(etc, "boot.json"), 65534, 65534);
    expect(() => loadBootConfig(root)).toThrow(
      /^\/etc\/muster\/boot\.json: a link made by uid 65534; whoever can change the boot config chooses what root converges/,
    );
    // root's own link, but in a directory anyone may write: it can be swapped at any moment
    lchownSync(path.join(etc, "boot.json"), 0, 0);
    expect(() => loadBootConfig(root)).toThrow(
      /boot\.json: in .*etc\/muster, a directory others may write \(mode 0777\)/,
    );
    // sticky (as /tmp): others cannot remove or rename root's entries there
    chmodSync(etc, 0o1777);
    expect(loadBootConfig(root).role.source).toEqual({ kind: "static", name: "web" });
    // a directory of another user's
    chmodSync(etc, 0o755);
    chownSync(etc, 65534, 65534);
    expect(() => loadBootConfig(root)).toThrow(/boot\.json: in .*etc\/muster, a directory of uid 65534/);
    chownSync(etc, 0, 0);
    expect(loadBootConfig(root).role.source).toEqual({ kind: "static", name: "web" });
  });

  it("says clearly when there is no config or it does not parse", () => {
    const root = tmpDir();
    expect(() => loadBootConfig(root)).toThrow(/no boot config: write \/etc\/muster\/boot\.json/);
    expect(gateSettings(root)).toEqual({
      gateFile: "/var/lib/muster/gate.json",
      stateDir: "/var/lib/muster",
    });
    mkdirSync(path.join(root, "etc/muster"), { recursive: true });
    writeFileSync(path.join(root, "etc/muster/boot.json"), "{ nope");
    expect(() => loadBootConfig(root)).toThrow(/^\/etc\/muster\/boot\.json: not valid JSON/);
    expect(() => loadBootConfig(root, "/nonexistent/boot.json")).toThrow(
      /--config \/nonexistent\/boot\.json: no such file/,
    );
  });

  it("never lets image prepare clear the root or the host's own directories", () => {
    const problems = (extra: Record<string, unknown>) => {
      try {
        parseBootConfig({ repo: { url: "/srv/config.git" }, ...extra }, "b.json");
        return [];
      } catch (err) {
        return (err as { problems: string[] }).problems;
      }
    };
    expect(
      problems({ image: { clean: ["//", "/.", "/./", "/srv/app/current", "/tmp", "/var/lib/"] } }),
    ).toEqual([
      "b.json: image.clean[0]: names the root itself; give a path inside it",
      "b.json: image.clean[1]: names the root itself; give a path inside it",
      "b.json: image.clean[2]: names the root itself; give a path inside it",
      "b.json: image.clean[4]: /tmp is a directory of the host itself; `muster image prepare` would remove it: give a directory of muster's own (such as /var/lib/muster)",
      "b.json: image.clean[5]: /var/lib is a directory of the host itself; `muster image prepare` would remove it: give a directory of muster's own (such as /var/lib/muster)",
    ]);
    expect(problems({ image: { clean: ["/cache"] } })).toEqual([
      "b.json: image.clean[0]: /cache is a top-level directory; `muster image prepare` would remove it whole: name what inside it to remove",
    ]);
    expect(problems({ stateDir: "/." })).toEqual([
      "b.json: stateDir: names the root itself; give a path inside it",
    ]);
    expect(problems({ stateDir: "/etc" })).toEqual([
      "b.json: stateDir: /etc is a directory of the host itself; `muster image prepare` would empty it: give a directory of muster's own (such as /var/lib/muster)",
    ]);
    expect(problems({ stateDir: "/opt/muster-state" })).toEqual([]);
    expect(problems({ stateDir: "/data" })).toEqual([
      "b.json: stateDir: /data is a top-level directory; `muster image prepare` would empty it: give a directory of muster's own inside it (such as /data/muster)",
    ]);
    expect(problems({ image: { clean: ["/etc/muster/boot.json"] } })).toEqual([
      "b.json: image.clean[0]: /etc/muster/boot.json is the boot config; `muster image prepare` would remove it, and servers made from the image would not boot",
    ]);
    expect(problems({ gate: { file: "/etc/muster/boot.json/" } })).toHaveLength(1);
    expect(problems({ periodic: { interval: 0.5 } })).toEqual([
      "b.json: periodic.interval: must be at least 60 (got 0.5)",
    ]);
    expect(problems({ gate: { file: "/etc/muster//boot.json" } })).toEqual([
      "b.json: gate.file: is the boot config itself, which the boot would remove as it closes the gate; give the web root's ping.html or leave it out",
    ]);
    // the boot and image prepare remove the gate: a directory of the host, or the state
    // directory, is no gate file
    expect(problems({ gate: { file: "/etc/" } })).toEqual([
      "b.json: gate.file: /etc is a directory of the host itself, not a gate file; give a file such as /var/www/html/ping.html",
    ]);
    expect(problems({ gate: { file: "/var/www" } })).toHaveLength(1);
    expect(problems({ stateDir: "/opt/state", gate: { file: "/opt/state" } })).toEqual([
      "b.json: gate.file: /opt/state is a directory (the state directory), not a gate file; give a file such as /var/www/html/ping.html",
    ]);
    expect(problems({ gate: { file: "/var/www/html/ping.html" } })).toEqual([]);
  });

  it("finds the gate files a broken config names, so a boot can still close them", () => {
    expect(
      gateFilesOfBrokenConfig({ gate: { file: "/var/www/ping.html" }, repo: 3, stateDir: "/opt/m" }),
    ).toEqual(["/var/www/ping.html", "/opt/m/gate.json"]);
    expect(gateFilesOfBrokenConfig({ gate: { file: "../../etc/passwd" }, stateDir: 5 })).toEqual([]);
    expect(gateFilesOfBrokenConfig({ gate: { file: "/./" } })).toEqual([]);
    expect(gateFilesOfBrokenConfig("junk")).toEqual([]);
    expect(gateFilesOfBrokenConfig(null)).toEqual([]);
  });

  it("every gate a root's config could name: the default's too; an unreadable config is one line", () => {
    const root = tmpDir();
    expect(gatesAnyConfigCouldName(root)).toEqual(["/var/lib/muster/gate.json"]);
    mkdirSync(path.join(root, "etc/muster/boot.json"), { recursive: true }); // a directory
    expect(gatesAnyConfigCouldName(root)).toEqual(["/var/lib/muster/gate.json"]);
    expect(() => loadBootConfig(root)).toThrow(/^\/etc\/muster\/boot\.json: a directory, not a file$/);
  });

  it("publishes a JSON Schema of what may be written (defaults optional)", () => {
    const s = bootConfigJsonSchema() as any;
    expect(s.type).toBe("object");
    expect(s.required).toEqual(["repo"]);
    expect(Object.keys(s.properties)).toEqual(
      expect.arrayContaining([
        "repo",
        "role",
        "gate",
        "lifecycle",
        "retries",
        "checks",
        "endpoints",
        "stateDir",
      ]),
    );
    expect(s.properties.repo.required).toEqual(["url"]);
    expect(s.properties.lifecycle.properties.onFailure.enum).toEqual(["abandon", "none"]);
  });
});

describe("boot config bounds", () => {
  const long = (n: number) => "a".repeat(n);
  const base = () => ({ repo: { url: "https://git.example.test/config.git" } }) as Record<string, any>;
  const cases: [string, (c: Record<string, any>) => void, string][] = [
    [
      "repo.url",
      (c) => (c.repo.url = `https://x.test/${long(10 * 2 ** 20)}`),
      "must be at most 2048 characters long",
    ],
    ["repo.ref", (c) => (c.repo.ref = long(256)), "must be at most 255 characters long"],
    ["repo.depth", (c) => (c.repo.depth = 1e12), "must be at most 1000000 (got 1000000000000)"],
    ["repo.sshKey", (c) => (c.repo.sshKey = `/${long(4096)}`), "must be at most 4096 characters long"],
    ["role", (c) => (c.role = `static:${long(300)}`), "must be at most 255 characters long"],
    [
      // the role's own message for a form it does not take
      "role",
      (c) => (c.role = { preference: Array(257).fill("web") }),
      'expected a role source such as "security-groups" or { "source": ..., "preference": [...] }',
    ],
    ["gate.file", (c) => (c.gate = { file: `/${long(5000)}` }), "must be at most 4096 characters long"],
    [
      "gate.http.host",
      (c) => (c.gate = { http: { port: 1, host: long(256) } }),
      "must be at most 255 characters long",
    ],
    [
      "gate.http.path",
      (c) => (c.gate = { http: { port: 1, path: `/${long(2048)}` } }),
      "must be at most 2048 characters long",
    ],
    ["lifecycle.hook", (c) => (c.lifecycle = { hook: long(256) }), "must be at most 255 characters long"],
    [
      "lifecycle.group",
      (c) => (c.lifecycle = { hook: "h", group: long(256) }),
      "must be at most 255 characters long",
    ],
    [
      "lifecycle.heartbeatInterval",
      (c) => (c.lifecycle = { hook: "h", heartbeatInterval: 7201 }),
      "must be at most 7200 (got 7201)",
    ],
    ["retries.deadline", (c) => (c.retries = { deadline: 1e308 }), "must be at most 172800 (got 1e+308)"],
    [
      "retries.backoffCap",
      (c) => (c.retries = { backoffCap: 172801 }),
      "must be at most 172800 (got 172801)",
    ],
    ["retries.attempts", (c) => (c.retries = { attempts: 101 }), "must be at most 100 (got 101)"],
    [
      "checks",
      (c) => (c.checks = Array(257).fill({ url: "http://127.0.0.1/" })),
      "must list at most 256 items",
    ],
    [
      "checks[0].url",
      (c) => (c.checks = [{ url: `http://127.0.0.1/${long(2048)}` }]),
      "must be at most 2048 characters long",
    ],
    [
      "checks[0].timeout",
      (c) => (c.checks = [{ url: "http://127.0.0.1/", timeout: 1e300 }]),
      "must be at most 172800 (got 1e+300)",
    ],
    [
      "endpoints.autoscaling",
      (c) => (c.endpoints = { autoscaling: `https://x.test/${long(2048)}` }),
      "must be at most 2048 characters long",
    ],
    ["endpoints.region", (c) => (c.endpoints = { region: long(256) }), "must be at most 255 characters long"],
    ["timeouts.git", (c) => (c.timeouts = { git: 1e9 }), "must be at most 172800 (got 1000000000)"],
    ["environment", (c) => (c.environment = long(256)), "must be at most 255 characters long"],
    [
      "attributes",
      (c) => (c.attributes = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, i]))),
      "must have at most 256 entries",
    ],
    ["periodic.interval", (c) => (c.periodic = { interval: 604801 }), "must be at most 604800 (got 604801)"],
    [
      "image.clean",
      (c) => (c.image = { clean: Array(257).fill("/opt/app/cache") }),
      "must list at most 256 items",
    ],
    ["stateDir", (c) => (c.stateDir = `/var/lib/${long(4096)}`), "must be at most 4096 characters long"],
  ];
  it.each(cases)("%s: too long or too large is bad input naming the field", (field, change, message) => {
    const c = base();
    change(c);
    let err: unknown;
    try {
      parseBootConfig(c, "boot.json");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).problems).toEqual([`boot.json: ${field}: ${message}`]);
  });

  it("the largest allowed values parse, and come out as whole milliseconds", () => {
    const c = parseBootConfig(
      {
        ...base(),
        lifecycle: { hook: long(255), heartbeatInterval: 7200 },
        retries: { deadline: 172800, backoffCap: 172800 },
        periodic: { interval: 604800 },
      },
      "boot.json",
    );
    expect(c.retries.deadlineMs).toBe(172_800_000);
    expect(c.periodic.intervalMs).toBe(604_800_000);
  });
});
