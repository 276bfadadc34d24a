import { afterEach, describe, expect, it } from "vitest";
import { InputError } from "../../core/errors.ts";
import { type Answer, httpAnswer } from "../../test-support/http-answer.ts";
import {
  type EmulatedInstance,
  type MetadataEmulator,
  type MetadataEmulatorOptions,
  normalizeMetadataPath,
  regionOfZone,
  startMetadataEmulator,
} from "./metadata-emulator.ts";

/** One raw HTTP exchange, no keep-alive, optionally from a given source address. */
function http(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  localAddress?: string,
): Promise<Answer> {
  const u = new URL(base);
  return httpAnswer({ host: u.hostname, port: u.port, method, path, headers, localAddress });
}

const WEB: EmulatedInstance = {
  instanceId: "i-0aaa",
  address: "127.77.0.2",
  securityGroups: ["web", "ssh"],
  availabilityZone: "eu-west-1b",
  tags: { Role: "web", "aws:autoscaling:groupName": "web-asg", "Cost Center": "42" },
  targetLifecycleState: "InService",
  userData: "role=web\n",
};
const DB: EmulatedInstance = { instanceId: "i-0bbb", address: "127.77.0.3", securityGroups: ["db"] };

let emu: MetadataEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function start(opts: MetadataEmulatorOptions = {}): Promise<MetadataEmulator> {
  emu = await startMetadataEmulator({ instances: [WEB, DB], defaultInstanceId: WEB.instanceId, ...opts });
  return emu;
}

async function token(e: MetadataEmulator, ttl = "60", from?: string): Promise<string> {
  const r = await http(
    e.url,
    "PUT",
    "/latest/api/token",
    { "X-aws-ec2-metadata-token-ttl-seconds": ttl },
    from,
  );
  expect(r.status).toBe(200);
  return r.body;
}

const get = (e: MetadataEmulator, path: string, tok?: string, from?: string) =>
  http(e.url, "GET", path, tok === undefined ? {} : { "X-aws-ec2-metadata-token": tok }, from);

describe("path helpers", () => {
  it("collapses repeated slashes and drops the query", () => {
    expect(normalizeMetadataPath("//latest/meta-data/instance-id")).toBe("/latest/meta-data/instance-id");
    expect(normalizeMetadataPath("/latest//meta-data/?x=1")).toBe("/latest/meta-data/");
  });
  it("derives the region of a zone", () => {
    expect(regionOfZone("eu-west-1b")).toBe("eu-west-1");
  });
});

describe("token endpoint", () => {
  it("issues a token for a TTL in 1..21600 and echoes the TTL", async () => {
    const e = await start();
    const r = await http(e.url, "PUT", "/latest/api/token", {
      "X-aws-ec2-metadata-token-ttl-seconds": "21600",
    });
    expect(r.status).toBe(200);
    expect(r.body.length).toBeGreaterThan(20);
    expect(r.headers["x-aws-ec2-metadata-token-ttl-seconds"]).toBe("21600");
  });

  it.each([
    ["missing", undefined],
    ["zero", "0"],
    ["too long", "21601"],
    ["not a number", "ten"],
  ])("answers 400 when the TTL is %s", async (_label, ttl) => {
    const e = await start();
    const headers: Record<string, string> =
      ttl === undefined ? {} : { "X-aws-ec2-metadata-token-ttl-seconds": ttl };
    const r = await http(e.url, "PUT", "/latest/api/token", headers);
    expect(r.status).toBe(400);
  });

  it("refuses token requests that went through a proxy (X-Forwarded-For)", async () => {
    const e = await start();
    const r = await http(e.url, "PUT", "/latest/api/token", {
      "X-aws-ec2-metadata-token-ttl-seconds": "60",
      "X-Forwarded-For": "10.0.0.1",
    });
    expect(r.status).toBe(403);
  });

  it("answers 405 to a PUT elsewhere and to a GET of the token path", async () => {
    const e = await start();
    expect((await http(e.url, "PUT", "/latest/meta-data/instance-id")).status).toBe(405);
    expect((await get(e, "/latest/api/token", await token(e))).status).toBe(405);
  });
});

describe("IMDSv2 only", () => {
  it("answers 401 to a GET without a token (never IMDSv1)", async () => {
    const e = await start();
    const r = await get(e, "/latest/meta-data/instance-id");
    expect(r.status).toBe(401);
    expect(r.body).not.toContain("i-0aaa");
  });

  it("answers 401 to an unknown token", async () => {
    const e = await start();
    expect((await get(e, "/latest/meta-data/instance-id", "not-a-token")).status).toBe(401);
  });

  it("answers 401 once the token's TTL has passed (injected clock)", async () => {
    let clock = 1_000_000;
    const e = await start({ now: () => clock });
    const tok = await token(e, "5");
    expect((await get(e, "/latest/meta-data/instance-id", tok)).status).toBe(200);
    clock += 4_999;
    expect((await get(e, "/latest/meta-data/instance-id", tok)).status).toBe(200);
    clock += 1;
    expect((await get(e, "/latest/meta-data/instance-id", tok)).status).toBe(401);
  });
});

/** An emulator of WEB and DB, and a reader of paths that must answer 200. */
async function okBodies(): Promise<{ e: MetadataEmulator; body: (p: string) => Promise<string> }> {
  const e = await start();
  const tok = await token(e);
  const body = async (p: string) => {
    const r = await get(e, p, tok);
    expect(r.status, p).toBe(200);
    return r.body;
  };
  return { e, body };
}

describe("metadata paths", () => {
  it("serves the instance's metadata, with a double leading slash too", async () => {
    const { body } = await okBodies();
    expect(await body("//latest/meta-data/instance-id")).toBe("i-0aaa");
    expect(await body("/latest/meta-data/security-groups")).toBe("web\nssh");
    expect(await body("/latest/meta-data/placement/availability-zone")).toBe("eu-west-1b");
    expect(await body("/latest/meta-data/placement/region")).toBe("eu-west-1");
    expect(await body("/latest/meta-data/local-ipv4")).toBe("127.77.0.2");
    expect(await body("/latest/meta-data/ami-id")).toMatch(/^ami-/);
    expect(await body("/latest/meta-data/autoscaling/target-lifecycle-state")).toBe("InService");
    expect(await body("/latest/user-data")).toBe("role=web\n");
    expect((await body("/latest/meta-data/tags/instance")).split("\n").sort()).toEqual(
      ["Cost Center", "Role", "aws:autoscaling:groupName"].sort(),
    );
    expect(await body("/latest/meta-data/tags/instance/Role")).toBe("web");
    expect(await body("/latest/meta-data/tags/instance/aws:autoscaling:groupName")).toBe("web-asg");
    expect(await body("/latest/meta-data/tags/instance/Cost%20Center")).toBe("42");
    const doc = JSON.parse(await body("/latest/dynamic/instance-identity/document"));
    expect(doc).toMatchObject({ instanceId: "i-0aaa", region: "eu-west-1", availabilityZone: "eu-west-1b" });
    expect((await body("/latest/meta-data/placement/")).split("\n")).toEqual(["availability-zone", "region"]);
  });

  it("the network interface, the market, the services and the identity signatures, listed as IMDS lists them", async () => {
    const { e, body } = await okBodies();
    const mac = await body("/latest/meta-data/mac");
    expect(mac).toBe("02:00:7f:4d:00:02"); // from the instance's address 127.77.0.2
    expect(await body("/latest/meta-data/network/interfaces/macs/")).toBe(`${mac}/`);
    const nic = `/latest/meta-data/network/interfaces/macs/${mac}`;
    expect((await body(`${nic}/`)).split("\n")).toEqual([
      "device-number",
      "interface-id",
      "local-hostname",
      "local-ipv4s",
      "mac",
      "owner-id",
      "security-group-ids",
      "security-groups",
      "subnet-id",
      "subnet-ipv4-cidr-block",
      "vpc-id",
      "vpc-ipv4-cidr-block",
      "vpc-ipv4-cidr-blocks",
    ]);
    expect(await body(`${nic}/device-number`)).toBe("0");
    expect(await body(`${nic}/local-ipv4s`)).toBe("127.77.0.2");
    expect(await body(`${nic}/security-groups`)).toBe("web\nssh");
    expect((await body(`${nic}/security-group-ids`)).split("\n")).toEqual([
      expect.stringMatching(/^sg-[0-9a-f]{17}$/),
      expect.stringMatching(/^sg-[0-9a-f]{17}$/),
    ]);
    expect(await body(`${nic}/subnet-id`)).toMatch(/^subnet-[0-9a-f]{17}$/);
    expect(await body(`${nic}/vpc-id`)).toMatch(/^vpc-[0-9a-f]{17}$/);
    expect(await body(`${nic}/interface-id`)).toMatch(/^eni-[0-9a-f]{17}$/);
    expect(await body("/latest/meta-data/instance-life-cycle")).toBe("on-demand");
    expect(await body("/latest/meta-data/services/domain")).toBe("amazonaws.com");
    expect(await body("/latest/meta-data/services/partition")).toBe("aws");
    expect((await body("/latest/dynamic/instance-identity/")).split("\n")).toEqual([
      "document",
      "pkcs7",
      "rsa2048",
      "signature",
    ]);
    for (const kind of ["signature", "pkcs7", "rsa2048"]) {
      const text = Buffer.from(await body(`/latest/dynamic/instance-identity/${kind}`), "base64").toString();
      expect(text).toBe(`muster fleet rehearsal: ${kind} of i-0aaa is a fixed test value, not signed by AWS`);
    }
    const root = (await body("/latest/meta-data/")).split("\n");
    for (const entry of [
      "ami-id",
      "autoscaling/",
      "instance-id",
      "instance-life-cycle",
      "mac",
      "network/",
      "placement/",
      "services/",
      "tags/",
    ])
      expect(root).toContain(entry);
    expect(root).toEqual([...root].sort());

    e.updateInstance(WEB.instanceId, { marketType: "spot", tags: undefined });
    expect(await body("/latest/meta-data/instance-life-cycle")).toBe("spot");
    expect(await body("/latest/meta-data/")).not.toContain("tags/");
  });

  it("answers 404 for unknown paths, disabled tags, absent user data and lifecycle state", async () => {
    const e = await start({ defaultInstanceId: DB.instanceId });
    const tok = await token(e);
    for (const p of [
      "/latest/meta-data/nope",
      "/latest/meta-data/instance-id/extra",
      "/latest/meta-data/tags/instance",
      "/latest/meta-data/tags/instance/Role",
      "/latest/user-data",
      "/latest/meta-data/autoscaling/target-lifecycle-state",
      "/2009-04-04/meta-data/instance-id",
    ]) {
      expect((await get(e, p, tok)).status, p).toBe(404);
    }
  });

  it("answers 405 to other methods", async () => {
    const e = await start();
    expect((await http(e.url, "POST", "/latest/meta-data/instance-id")).status).toBe(405);
  });

  it("reflects instance changes at once (setInstance / updateInstance / removeInstance)", async () => {
    const e = await start();
    const tok = await token(e);
    e.updateInstance(WEB.instanceId, { targetLifecycleState: "Warmed:Stopped" });
    expect((await get(e, "/latest/meta-data/autoscaling/target-lifecycle-state", tok)).body).toBe(
      "Warmed:Stopped",
    );
    e.setInstance({ ...WEB, securityGroups: ["api"] });
    expect((await get(e, "/latest/meta-data/security-groups", tok)).body).toBe("api");
    expect(() => e.updateInstance("i-missing", {})).toThrow(InputError);
    e.removeInstance(WEB.instanceId);
    expect((await get(e, "/latest/meta-data/instance-id", tok)).status).toBe(401);
  });
});

describe("instance selection by source address", () => {
  it("answers each sandbox from its own address and others from the default instance", async () => {
    const e = await start();
    const fromDb = await token(e, "60", "127.77.0.3");
    expect((await get(e, "/latest/meta-data/instance-id", fromDb, "127.77.0.3")).body).toBe("i-0bbb");
    const fromWeb = await token(e, "60", "127.77.0.2");
    expect((await get(e, "/latest/meta-data/instance-id", fromWeb, "127.77.0.2")).body).toBe("i-0aaa");
    const fromElsewhere = await token(e, "60", "127.0.0.1");
    expect((await get(e, "/latest/meta-data/instance-id", fromElsewhere)).body).toBe("i-0aaa");
    expect(e.requests.filter((r) => r.instanceId === "i-0bbb").map((r) => r.remoteAddress)).toEqual([
      "127.77.0.3",
      "127.77.0.3",
    ]);
  });

  it("does not accept one instance's token from another instance", async () => {
    const e = await start();
    const fromDb = await token(e, "60", "127.77.0.3");
    expect((await get(e, "/latest/meta-data/instance-id", fromDb, "127.77.0.2")).status).toBe(401);
  });

  it("with no default instance, an unknown source address gets no token", async () => {
    const e = await start({ defaultInstanceId: null });
    const r = await http(e.url, "PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "60" });
    expect(r.status).toBe(404);
    e.setDefaultInstance(DB.instanceId);
    const tok = await token(e);
    expect((await get(e, "/latest/meta-data/instance-id", tok)).body).toBe("i-0bbb");
  });

  it("takes the first instance as default when none is configured", async () => {
    emu = await startMetadataEmulator({ instances: [DB, WEB] });
    const tok = await token(emu);
    expect((await get(emu, "/latest/meta-data/instance-id", tok)).body).toBe("i-0bbb");
  });

  it("listens on a per-test 127.x address", async () => {
    emu = await startMetadataEmulator({ host: "127.0.0.9", instances: [WEB] });
    expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.9:\d+$/);
    const tok = await token(emu);
    expect((await get(emu, "/latest/meta-data/instance-id", tok)).body).toBe("i-0aaa");
  });
});

describe("faults and records", () => {
  it("records method, raw and normalized path, address, instance and status", async () => {
    const e = await start();
    const tok = await token(e);
    await get(e, "//latest/meta-data/instance-id", tok);
    await get(e, "/latest/meta-data/instance-id");
    expect(
      e.requests.map(({ method, path, rawPath, remoteAddress, instanceId, status }) => ({
        method,
        path,
        rawPath,
        remoteAddress,
        instanceId,
        status,
      })),
    ).toEqual([
      {
        method: "PUT",
        path: "/latest/api/token",
        rawPath: "/latest/api/token",
        remoteAddress: "127.0.0.1",
        instanceId: "i-0aaa",
        status: 200,
      },
      {
        method: "GET",
        path: "/latest/meta-data/instance-id",
        rawPath: "//latest/meta-data/instance-id",
        remoteAddress: "127.0.0.1",
        instanceId: "i-0aaa",
        status: 200,
      },
      {
        method: "GET",
        path: "/latest/meta-data/instance-id",
        rawPath: "/latest/meta-data/instance-id",
        remoteAddress: "127.0.0.1",
        instanceId: "i-0aaa",
        status: 401,
      },
    ]);
  });

  it("error: answers 500 to every request until cleared", async () => {
    const e = await start();
    await e.setFault({ kind: "error" });
    const r = await http(e.url, "PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "60" });
    expect(r.status).toBe(500);
    await e.setFault(undefined);
    await token(e);
  });

  it("slow: delays every answer", async () => {
    const e = await start();
    await e.setFault({ kind: "slow", delayMs: 150 });
    const t0 = Date.now();
    await token(e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it("down (destroy): the socket is destroyed and the request recorded as such", async () => {
    const e = await start();
    await e.setFault({ kind: "down" });
    await expect(
      http(e.url, "PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "60" }),
    ).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(e.requests.at(-1)?.status).toBe("destroyed");
  });

  it("down (refuse): connections are refused until the fault is cleared, on the same port", async () => {
    const e = await start();
    await e.setFault({ kind: "down", mode: "refuse" });
    await expect(http(e.url, "PUT", "/latest/api/token", {})).rejects.toThrow(/ECONNREFUSED/);
    await e.setFault(undefined);
    await token(e);
  });

  it("a fault can be limited to one instance or one path", async () => {
    const e = await start();
    await e.setFault({ kind: "error", status: 503, instanceId: DB.instanceId });
    await token(e, "60", "127.77.0.2");
    const r = await http(
      e.url,
      "PUT",
      "/latest/api/token",
      { "X-aws-ec2-metadata-token-ttl-seconds": "60" },
      "127.77.0.3",
    );
    expect(r.status).toBe(503);
    await e.setFault({ kind: "error", status: 404, path: "/latest/meta-data/placement/region" });
    const tok = await token(e);
    expect((await get(e, "/latest/meta-data/placement/region", tok)).status).toBe(404);
    expect((await get(e, "/latest/meta-data/placement/availability-zone", tok)).status).toBe(200);
  });

  it("rejects a refusing fault scoped to one instance", async () => {
    const e = await start();
    await expect(e.setFault({ kind: "down", mode: "refuse", instanceId: "i-0aaa" })).rejects.toThrow(
      InputError,
    );
  });

  it("close() ends a delayed request and frees the port", async () => {
    const e = await start();
    await e.setFault({ kind: "slow", delayMs: 120_000 });
    const pending = http(e.url, "PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "60" });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await e.close();
    await expect(pending).rejects.toThrow();
    // the delayed answer would come after two minutes: close ended it
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});
