import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import YAML from "yaml";
import { InputError } from "../../core/errors.ts";
import { cleanupTmp, REPO_ROOT, tmpDir } from "../../test-support/tmp.ts";
import {
  addressAt,
  defaultStateDirFor,
  EMBEDDED_FLEET_YAML,
  fleetConfigJsonSchema,
  loadFleetConfig,
  metadataTagsProblem,
  parseAddressRange,
  parseFleetConfig,
} from "./fleet-config.ts";

afterEach(() => cleanupTmp());

function problems(data: unknown): string[] {
  try {
    parseFleetConfig(data, "fleet.yaml", REPO_ROOT, { packageRoot: REPO_ROOT });
  } catch (err) {
    if (err instanceof InputError) return err.problems;
    throw err;
  }
  return [];
}

describe("fleet.yaml", () => {
  it("the embedded default: the example repos, two web instances, a launch hook, fast checks", () => {
    const c = loadFleetConfig(undefined, REPO_ROOT, "/tmp/some-state");
    expect(c.source).toBe("(embedded default)");
    expect(c.repositories.config.dir).toBe(path.join(REPO_ROOT, "examples/config-repo"));
    expect(c.repositories.app.dir).toBe(path.join(REPO_ROOT, "examples/app"));
    expect(c.group).toMatchObject({ name: "web", min: 1, max: 6, desired: 2, healthCheckType: "ELB" });
    expect(c.group.launchHook).toEqual({
      name: "launch",
      heartbeatTimeoutMs: 30_000,
      defaultResult: "ABANDON",
    });
    expect(c.role).toEqual({ source: "security-groups", securityGroups: ["web"], tags: {} });
    expect(c.instances.addresses).toEqual({ first: "127.77.0.1", count: 254 });
    expect(c.instances.trafficPort).toBe(8080);
    expect(c.instances.boot.heartbeatInterval).toBe(10);
    expect(c.loadBalancer.settings.healthCheck).toMatchObject({
      path: "/health",
      port: 8081,
      intervalMs: 1000,
    });
    expect(c.stateDir).toBe("/tmp/some-state");
    expect(YAML.parse(EMBEDDED_FLEET_YAML).group.desired).toBe(2);
  });

  it("the embedded default is the schema's defaults: a fleet.yaml that sets one field keeps the rest", () => {
    const opts = { stateDir: "/tmp/some-state", packageRoot: REPO_ROOT };
    const embedded = parseFleetConfig(YAML.parse(EMBEDDED_FLEET_YAML), "x", REPO_ROOT, opts);
    expect(parseFleetConfig({}, "x", REPO_ROOT, opts)).toEqual(embedded);
    // only the addresses set: still the embedded default's two instances
    const one = parseFleetConfig(
      { instances: { addresses: "127.77.9.1-127.77.9.254" } },
      "x",
      REPO_ROOT,
      opts,
    );
    expect(one.group.desired).toBe(2);
    expect({
      ...one,
      instances: { ...one.instances, addresses: undefined, addressesDefaulted: undefined },
    }).toEqual({
      ...embedded,
      instances: { ...embedded.instances, addresses: undefined, addressesDefaulted: undefined },
    });
    // desired left out: two, within [min, max]
    expect(parseFleetConfig({ group: { min: 3 } }, "x", REPO_ROOT, opts).group.desired).toBe(3);
    expect(parseFleetConfig({ group: { min: 0, max: 1 } }, "x", REPO_ROOT, opts).group.desired).toBe(1);
  });

  it("--addresses overrides instances.addresses; a block nobody chose is marked as the default", () => {
    const opts = { stateDir: "/tmp/some-state", packageRoot: REPO_ROOT };
    const none = parseFleetConfig({}, "x", REPO_ROOT, opts);
    expect(none.instances.addressesDefaulted).toBe(true);
    const file = parseFleetConfig(
      { instances: { addresses: "127.77.0.1-127.77.0.254" } },
      "x",
      REPO_ROOT,
      opts,
    );
    expect(file.instances.addressesDefaulted).toBe(false);
    const flag = parseFleetConfig({ instances: { addresses: "127.77.3.1-127.77.3.9" } }, "x", REPO_ROOT, {
      ...opts,
      addresses: "127.77.4.1-127.77.4.20",
    });
    expect([flag.instances.addresses, flag.instances.addressesDefaulted]).toEqual([
      { first: "127.77.4.1", count: 20 },
      false,
    ]);
  });

  it("fields left out take the defaults; relative paths resolve against the file's directory", () => {
    const dir = tmpDir();
    const file = path.join(dir, "fleet.yaml");
    writeFileSync(
      file,
      YAML.stringify({ image: { dir: "." }, stateDir: "st", group: { launchHook: false } }),
    );
    const c = loadFleetConfig(file, REPO_ROOT);
    expect(c.image.dir).toBe(dir);
    expect(c.stateDir).toBe(path.join(dir, "st"));
    expect(c.group.launchHook).toBeUndefined();
    expect(c.repositories.app.dir).toBe(path.join(REPO_ROOT, "examples/app"));
  });

  it("nginx in front: traffic and health checks go to nginx's port and the gate file", () => {
    const c = parseFleetConfig(
      {
        instances: { webServer: "nginx", webPort: 8090 },
        loadBalancer: { preset: "aws", deregistrationDelay: 5 },
      },
      "fleet.yaml",
      REPO_ROOT,
      { packageRoot: REPO_ROOT },
    );
    expect(c.instances.trafficPort).toBe(8090);
    expect(c.loadBalancer.settings.healthCheck).toMatchObject({
      path: "/ping.html",
      port: "traffic-port",
      intervalMs: 30_000,
    });
    expect(c.loadBalancer.settings.deregistrationDelayMs).toBe(5000);
  });

  it("checks the group once for the group model, every problem named by its field in the file", () => {
    expect(
      problems({
        group: {
          healthCheckType: "ALB",
          healthCheckGracePeriod: -1,
          launchHook: { name: "", heartbeatTimeout: 0, defaultResult: "RETRY" },
          targetTracking: { requestsPerTarget: 0, scaleOutCooldown: -5 },
        },
      }),
    ).toEqual([
      'fleet.yaml: group.healthCheckType: must be one of "ELB", "EC2" (got "ALB")',
      "fleet.yaml: group.healthCheckGracePeriod: must be at least 0 (got -1)",
      "fleet.yaml: group.launchHook.name: must not be empty",
      "fleet.yaml: group.launchHook.heartbeatTimeout: must be at least 0.001 (got 0)",
      'fleet.yaml: group.launchHook.defaultResult: must be one of "CONTINUE", "ABANDON" (got "RETRY")',
      "fleet.yaml: group.targetTracking.requestsPerTarget: must be more than 0 (got 0)",
      "fleet.yaml: group.targetTracking.scaleOutCooldown: must be at least 0 (got -5)",
    ]);
    // a heartbeat timeout that would round to 0 ms (every launch abandoned at once) is refused too
    expect(problems({ group: { launchHook: { heartbeatTimeout: 0.0004 } } })).toEqual([
      "fleet.yaml: group.launchHook.heartbeatTimeout: must be at least 0.001 (got 0.0004)",
    ]);
    expect(problems({ group: { min: 3, max: 2 } })).toEqual([
      "fleet.yaml: group.min: must not exceed max (3 > 2)",
    ]);
    // with min > max, a desired outside the range is not a second problem: the range is the one
    expect(problems({ group: { min: 3, max: 2, desired: 9 } })).toEqual([
      "fleet.yaml: group.min: must not exceed max (3 > 2)",
    ]);
  });

  it("reports every problem at once, each with the file and the path", () => {
    const p = problems({
      group: { min: 4, max: 2, desired: 9, name: "a b" },
      instances: { addresses: "127.77.0.1-127.77.0.2", appPort: 9000, healthPort: 9000 },
      role: { source: "tag:" },
      loadBalancer: { healthCheck: { interval: 1, timeout: 1 }, port: 70000 },
      extra: 1,
    });
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^fleet\.yaml: group\.name: /),
        expect.stringMatching(/^fleet\.yaml: loadBalancer\.port: /),
        'fleet.yaml: unknown field "extra"',
      ]),
    );
    const p2 = problems({
      group: { min: 4, max: 2, desired: 9 },
      instances: { addresses: "127.77.0.1-127.77.0.1", appPort: 9000, healthPort: 9000 },
      role: { source: "tag:" },
      loadBalancer: { healthCheck: { interval: 1, timeout: 1 } },
    });
    expect(p2).toEqual(
      expect.arrayContaining([
        "fleet.yaml: group.min: must not exceed max (4 > 2)",
        "fleet.yaml: instances.addresses: 1 address for up to 2 instances (group.max); give a wider range",
        "fleet.yaml: instances.healthPort: must differ from appPort (both 9000)",
        expect.stringMatching(/^fleet\.yaml: role\.source: .*tag: needs a tag key/),
        expect.stringMatching(
          /^fleet\.yaml: loadBalancer\.healthCheck\.timeout: must be less than interval \(1 s >= 1 s\)$/,
        ),
      ]),
    );
  });

  it("settings that contradict each other; a wrong type does not hide the address block's problem", () => {
    // (the checks across fields run once every field has the right type: zod's order)
    expect(
      problems({
        group: { min: 1.5, launchHook: { heartbeatTimeout: 30 } },
        instances: { addresses: "foo", boot: { heartbeatInterval: 100 } },
        role: { securityGroups: [] },
        loadBalancer: { host: "127.999.0.1" },
        bogus: 1,
      }),
    ).toEqual([
      "fleet.yaml: group.min: must be a whole number (got 1.5)",
      'fleet.yaml: instances.addresses: "foo": expected FIRST-LAST, e.g. 127.77.0.1-127.77.0.254',
      "fleet.yaml: loadBalancer.host: must be a loopback address: 127.x.y.z, each number 0 to 255",
      'fleet.yaml: unknown field "bogus"',
    ]);
    expect(
      problems({
        group: { launchHook: { heartbeatTimeout: 30 } },
        instances: { addresses: "127.91.0.1-127.91.0.20", boot: { heartbeatInterval: 100 } },
        role: { securityGroups: [] },
        loadBalancer: { host: "127.91.0.3", port: 8080 },
      }),
    ).toEqual([
      "fleet.yaml: instances.boot.heartbeatInterval: must be less than group.launchHook.heartbeatTimeout (30 s), or every launch times out before its first heartbeat",
      "fleet.yaml: role.securityGroups: must list at least one group: the role source security-groups reads the role from them",
      "fleet.yaml: loadBalancer.port: 127.91.0.3:8080 is instance 3's appPort (instances.addresses); give the load balancer another port or host",
    ]);
    // a field the schema refused is not said again by the load balancer's own check
    expect(problems({ loadBalancer: { healthCheck: { port: 70000 } } })).toEqual([
      "fleet.yaml: loadBalancer.healthCheck.port: must be at most 65535 (got 70000)",
    ]);
    // launchHook: true is the hook with its defaults, as false is none
    expect(
      parseFleetConfig({ group: { launchHook: true } }, "f", REPO_ROOT, { packageRoot: REPO_ROOT }).group
        .launchHook,
    ).toEqual({
      name: "launch",
      heartbeatTimeoutMs: 30_000,
      defaultResult: "ABANDON",
    });
  });

  it("instances.environment: variables for every instance, values as strings; none by default", () => {
    expect(loadFleetConfig(undefined, REPO_ROOT).instances.environment).toEqual({});
    const c = parseFleetConfig(
      YAML.parse(
        "instances:\n  environment:\n    NODE_EXTRA_CA_CERTS: /srv/ca.pem\n    UV_THREADPOOL_SIZE: 8\n    DEBUG: true\n",
      ),
      "fleet.yaml",
      REPO_ROOT,
      { packageRoot: REPO_ROOT },
    );
    expect(c.instances.environment).toEqual({
      NODE_EXTRA_CA_CERTS: "/srv/ca.pem",
      UV_THREADPOOL_SIZE: "8",
      DEBUG: "true",
    });
    expect(
      problems({
        instances: {
          environment: {
            "1X": "a",
            "A-B": "a",
            MUSTER_BOOT_ID: "x",
            AWS_ACCESS_KEY_ID: "x",
            OK: "a\0b",
          },
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        "fleet.yaml: instances.environment.1X: not a variable name: letters, digits and _, not starting with a digit",
        "fleet.yaml: instances.environment.A-B: not a variable name: letters, digits and _, not starting with a digit",
        expect.stringMatching(/^fleet\.yaml: instances\.environment\.MUSTER_BOOT_ID: MUSTER_ variables are/),
        expect.stringMatching(
          /^fleet\.yaml: instances\.environment\.AWS_ACCESS_KEY_ID: AWS_ variables never/,
        ),
        "fleet.yaml: instances.environment.OK: a value cannot contain a NUL character",
      ]),
    );
    expect(problems({ instances: { environment: { LIST: ["a"] } } })).toEqual([
      "fleet.yaml: instances.environment.LIST: a variable's value must be a string (or a number or true/false)",
    ]);
  });

  it("repositories must exist, and exactly one of dir or bare", () => {
    const p = problems({ repositories: { config: { dir: "no/such/dir" }, app: { bare: "examples/app" } } });
    expect(p).toEqual([
      `fleet.yaml: repositories.config.dir: directory ${path.join(REPO_ROOT, "no/such/dir")} does not exist`,
      `fleet.yaml: repositories.app.bare: ${path.join(REPO_ROOT, "examples/app")} is not a bare git repository (no HEAD)`,
    ]);
    expect(problems({ repositories: { config: {} } })).toEqual([
      "fleet.yaml: repositories.config: give exactly one of dir (a directory to commit) or bare (an existing bare repository)",
    ]);
    // a file where a directory belongs (an unexpected ENOTDIR; image.dir was taken, and every
    // launch failed)
    expect(
      problems({
        repositories: { config: { dir: "package.json" }, app: { bare: "README.md" } },
        image: { dir: "LICENSE" },
      }),
    ).toEqual([
      `fleet.yaml: repositories.config.dir: ${path.join(REPO_ROOT, "package.json")} is a file, not a directory`,
      `fleet.yaml: repositories.app.bare: ${path.join(REPO_ROOT, "README.md")} is a file, not a bare repository`,
      `fleet.yaml: image.dir: ${path.join(REPO_ROOT, "LICENSE")} is a file, not a directory`,
    ]);
  });

  it("a load balancer problem is one line naming fleet.yaml's field (matcher, deregistrationDelay), not the settings' names", () => {
    const lb = (over: Record<string, unknown>) => problems({ loadBalancer: { preset: "fast", ...over } });
    expect(lb({ healthCheck: { matcher: "abc" } })).toEqual([
      'fleet.yaml: loadBalancer.healthCheck.matcher: HTTP codes, e.g. "200", "200,204" or "200-299"',
    ]);
    expect(lb({ healthCheck: { matcher: "300-200" } })).toEqual([
      'fleet.yaml: loadBalancer.healthCheck.matcher: "300-200" is not a range within 100-599',
    ]);
    expect(lb({ deregistrationDelay: -1 })).toEqual([
      "fleet.yaml: loadBalancer.deregistrationDelay: must be at least 0 (got -1)",
    ]);
  });

  it("the embedded default without muster's examples/ (a release archive) says what to do instead", () => {
    const bare = tmpDir();
    expect(() => loadFleetConfig(undefined, bare)).toThrow(
      // one line, though both repositories are missing
      `(embedded default): the example fleet uses muster's examples/, which a release archive does not carry (${path.join(bare, "examples/config-repo")}): run \`muster init DIR\` and pass --config DIR/fleet.yaml`,
    );
    try {
      loadFleetConfig(undefined, bare);
    } catch (err) {
      expect((err as { problems: string[] }).problems).toHaveLength(1);
    }
  });

  it("a missing, empty or unparsable file is one clear line", () => {
    expect(() => loadFleetConfig("/nonexistent/fleet.yaml", REPO_ROOT)).toThrow(
      /--config \/nonexistent\/fleet\.yaml: no such file/,
    );
    const file = path.join(tmpDir(), "fleet.yaml");
    writeFileSync(file, "# nothing yet\n");
    expect(() => loadFleetConfig(file, REPO_ROOT)).toThrow(
      new RegExp(`^${file}: empty; write the fleet's settings in it \\(muster schema fleet\\)`),
    );
    writeFileSync(file, "group: [unclosed\n");
    expect(() => loadFleetConfig(file, REPO_ROOT)).toThrow(new RegExp(`^${file}: not valid YAML: `));
  });

  it("instance tags are in metadata only when instances.metadataTags says so; a tag role source needs them", () => {
    const parse = (data: unknown) =>
      parseFleetConfig(data, "fleet.yaml", REPO_ROOT, { packageRoot: REPO_ROOT });
    const plain = parse({});
    expect(plain.instances.metadataTags).toBe(false); // AWS's default: InstanceMetadataTags disabled
    expect(plain.instances.marketType).toBe("on-demand");
    expect(parse({ instances: { marketType: "spot" } }).instances.marketType).toBe("spot");
    expect(problems({ instances: { metadataTags: "yes" } })).toEqual([
      expect.stringMatching(/^fleet\.yaml: instances\.metadataTags: /),
    ]);
    const table: [string, boolean, boolean][] = [
      ["security-groups", false, false],
      ["static:web", false, false],
      ["user-data", false, false],
      ["tag:Role", false, true],
      ["autoscaling-group", false, true],
      ["tag:Role", true, false],
      ["autoscaling-group", true, false],
    ];
    for (const [source, metadataTags, refused] of table) {
      const problem = metadataTagsProblem(parse({ role: { source }, instances: { metadataTags } }));
      expect(problem !== undefined, `${source} with metadataTags ${metadataTags}`).toBe(refused);
      if (problem)
        expect(problem).toMatch(
          new RegExp(
            `^fleet\\.yaml: role\\.source: ${source} reads instance tags .* set instances\\.metadataTags: true .*InstanceMetadataTags`,
          ),
        );
    }
    expect(metadataTagsProblem(loadFleetConfig(undefined, REPO_ROOT))).toBeUndefined();
  });

  it("address ranges: loopback only, in order, no .0 or .255", () => {
    expect(parseAddressRange("127.77.3.10-127.77.3.12")).toEqual({ first: "127.77.3.10", count: 3 });
    expect(addressAt({ first: "127.77.0.254", count: 10 }, 3)).toBe("127.77.1.1");
    expect(parseAddressRange("10.0.0.1-10.0.0.9")).toMatch(/must be loopback/);
    expect(parseAddressRange("127.0.0.9-127.0.0.1")).toMatch(/comes before/);
    expect(parseAddressRange("127.0.0.0-127.0.0.9")).toMatch(/\.0 and \.255/);
    expect(parseAddressRange("127.0.0.1")).toEqual({ first: "127.0.0.1", count: 1 });
    expect(parseAddressRange("localhost")).toMatch(/expected FIRST-LAST/);
  });

  it("publishes a JSON Schema for editors", () => {
    const schema = fleetConfigJsonSchema() as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        "group",
        "image",
        "repositories",
        "role",
        "instances",
        "loadBalancer",
        "stateDir",
      ]),
    );
  });
});

describe("the default state directory", () => {
  it("is the user's own, never a name in the shared temporary directory", () => {
    expect(defaultStateDirFor(0, { TMPDIR: "/tmp", XDG_STATE_HOME: "/root/.st" }, "/root")).toBe(
      "/var/lib/muster/fleet",
    );
    expect(defaultStateDirFor(1000, { XDG_STATE_HOME: "/home/a/.state" }, "/home/a")).toBe(
      "/home/a/.state/muster/fleet",
    );
    expect(defaultStateDirFor(1000, {}, "/home/a")).toBe("/home/a/.local/state/muster/fleet");
    // a relative XDG_STATE_HOME is to be ignored (XDG base directory specification)
    expect(defaultStateDirFor(1000, { XDG_STATE_HOME: "st" }, "/home/a")).toBe(
      "/home/a/.local/state/muster/fleet",
    );
  });
});

describe("fleet.yaml bounds", () => {
  const long = (n: number) => "a".repeat(n);
  const cases: [string, unknown, string][] = [
    ["group.max", { group: { max: 5000 } }, "must be at most 4096 (got 5000)"],
    [
      "group.launchHook.name",
      { group: { launchHook: { name: long(256) } } },
      "must be at most 255 characters long",
    ],
    [
      "group.launchHook.heartbeatTimeout",
      { group: { launchHook: { heartbeatTimeout: 1e308 } } },
      "must be at most 7200 (got 1e+308)",
    ],
    [
      "group.healthCheckGracePeriod",
      { group: { healthCheckGracePeriod: 172801 } },
      "must be at most 172800 (got 172801)",
    ],
    ["repositories.ref", { repositories: { ref: long(256) } }, "must be at most 255 characters long"],
    [
      "repositories.config.dir",
      { repositories: { config: { dir: long(4097) } } },
      "must be at most 4096 characters long",
    ],
    [
      "role.securityGroups",
      { role: { securityGroups: Array(17).fill("web") } },
      "must list at most 16 items",
    ],
    [
      "role.tags",
      { role: { tags: { [long(129)]: "v" } } },
      `key "${long(37)}...": must be at most 128 characters long`,
    ],
    ["role.tags.k", { role: { tags: { k: long(257) } } }, "must be at most 256 characters long"],
    [
      "instances.environment.V",
      { instances: { environment: { V: long(40_000) } } },
      "must be at most 32768 characters long",
    ],
    [
      "instances.boot.deadline",
      { instances: { boot: { deadline: 1e308 } } },
      "must be at most 172800 (got 1e+308)",
    ],
    [
      "instances.boot.deadline",
      { instances: { boot: { deadline: 3001 } } },
      "must be at most 3000 (got 3001): a lifecycle action waits at most 100 times group.launchHook.heartbeatTimeout, and 48 hours",
    ],
    [
      "loadBalancer.healthCheck.interval",
      { loadBalancer: { healthCheck: { interval: 301 } } },
      "must be at most 300 (got 301)",
    ],
    [
      "loadBalancer.deregistrationDelay",
      { loadBalancer: { deregistrationDelay: 3601 } },
      "must be at most 3600 (got 3601)",
    ],
    ["stateDir", { stateDir: long(4097) }, "must be at most 4096 characters long"],
  ];
  it.each(cases)("%s: too long or too large is bad input naming the field", (field, data, message) => {
    expect(problems(data)).toContain(`fleet.yaml: ${field}: ${message}`);
  });
});
