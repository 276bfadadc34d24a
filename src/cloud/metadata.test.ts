import { readFileSync } from "node:fs";
import { MetadataService } from "@aws-sdk/ec2-metadata-service";
import { afterEach, describe, expect, it } from "vitest";
import { InputError, RunError, TimeoutError } from "../core/errors.ts";
import {
  type EmulatedInstance,
  type MetadataEmulator,
  startMetadataEmulator,
} from "../fleet/aws/metadata-emulator.ts";
import { encodeTagKey, metadataLines, type ReadIdentityOptions, readIdentity } from "./metadata.ts";

const WEB: EmulatedInstance = {
  instanceId: "i-0123456789abcdef0",
  securityGroups: ["web"],
  availabilityZone: "eu-central-1a",
};

let emu: MetadataEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function start(instance: EmulatedInstance = WEB): Promise<MetadataEmulator> {
  emu = await startMetadataEmulator({ instances: [instance] });
  return emu;
}

/** Fast settings for tests: short timeouts and back-off. */
const fast = (e: MetadataEmulator, extra: ReadIdentityOptions = {}): ReadIdentityOptions => ({
  endpoint: e.url,
  timeoutMs: 300,
  retries: 2,
  backoffMs: 10,
  ...extra,
});

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("readIdentity against the emulator (real MetadataService client)", () => {
  it("reads the identity with one session token: one PUT first, then every GET with it", async () => {
    const e = await start();
    const id = await readIdentity(fast(e));
    expect(id).toEqual({
      instanceId: "i-0123456789abcdef0",
      securityGroups: ["web"],
      availabilityZone: "eu-central-1a",
      region: "eu-central-1",
    });
    const gets = e.requests.filter((r) => r.method === "GET");
    const puts = e.requests.filter((r) => r.method === "PUT");
    expect(gets.length).toBeGreaterThanOrEqual(4);
    expect(e.requests[0]?.method).toBe("PUT");
    expect(puts).toHaveLength(1);
    expect(puts[0]?.status).toBe(200);
    expect(puts[0]?.path).toBe("/latest/api/token");
    // the emulator answers 401 to a GET without a valid token
    expect(gets.every((r) => r.status === 200 || r.status === 404)).toBe(true);
    expect(gets.find((r) => r.path === "/latest/meta-data/instance-id")?.rawPath).toBe(
      "//latest/meta-data/instance-id",
    );
  });

  it("a token the service no longer accepts (expired) is renewed once, and the read goes on", async () => {
    // the clock jumps past the token's life once the first GET has been answered
    const base = 1_000_000;
    const answered = () => emu?.requests.some((r) => r.method === "GET" && r.status === 200) ?? false;
    emu = await startMetadataEmulator({ instances: [WEB], now: () => (answered() ? base + 10_000 : base) });
    const e = emu;
    const id = await readIdentity(fast(e, { tokenTtlSeconds: 5 }));
    expect(id.instanceId).toBe("i-0123456789abcdef0");
    expect(id.availabilityZone).toBe("eu-central-1a");
    expect(e.requests.filter((r) => r.method === "PUT")).toHaveLength(2);
    expect(e.requests.some((r) => r.status === 401)).toBe(true);
  });

  it("a token rejected again after its renewal fails the read at once, naming the path and the 401", async () => {
    let clock = 1_000_000;
    emu = await startMetadataEmulator({ instances: [WEB], now: () => (clock += 10_000) });
    const err = await failure(readIdentity(fast(emu, { retries: 2, tokenTtlSeconds: 5 })));
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toBe(
      `metadata service at ${emu.url} answered GET /latest/meta-data/instance-id with HTTP 401; the session token was rejected`,
    );
    // a rejected token is renewed, never retried as it is
    expect(emu.requests.map((r) => [r.method, r.status])).toEqual([
      ["PUT", 200],
      ["GET", 401],
      ["PUT", 200],
      ["GET", 401],
    ]);
  });

  it("leaves no connection open, answers other than 200 included (the boot exits when it is done)", async () => {
    const e = await start(); // no tags, no lifecycle state, no user data: three 404s
    await readIdentity(fast(e));
    expect(e.requests.filter((r) => r.status === 404).length).toBeGreaterThanOrEqual(3);
    // the emulator keeps an idle connection for 1 s: one left open by the client is still there
    const deadline = Date.now() + 300;
    while ((await e.connections()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await e.connections()).toBe(0);
  });

  it("splits several security groups, one per line", async () => {
    const e = await start({ ...WEB, securityGroups: ["web", "ssh-bastion", "monitoring"] });
    expect((await readIdentity(fast(e))).securityGroups).toEqual(["web", "ssh-bastion", "monitoring"]);
  });

  it("leaves tags undefined when tags are not allowed in metadata", async () => {
    const e = await start();
    const id = await readIdentity(fast(e));
    expect(id.tags).toBeUndefined();
    expect("tags" in id).toBe(false);
    expect(e.requests.find((r) => r.path === "/latest/meta-data/tags/instance")?.status).toBe(404);
  });

  it("reads every tag, keys with ':' and spaces included", async () => {
    const e = await start({
      ...WEB,
      tags: { Role: "web", "aws:autoscaling:groupName": "web-asg", "Cost Center": "R&D" },
    });
    expect((await readIdentity(fast(e))).tags).toEqual({
      Role: "web",
      "aws:autoscaling:groupName": "web-asg",
      "Cost Center": "R&D",
    });
  });

  it("reads the target lifecycle state and the user data when present", async () => {
    const e = await start({
      ...WEB,
      targetLifecycleState: "Warmed:Stopped",
      userData: "#!/bin/sh\nrole=web\n",
    });
    const id = await readIdentity(fast(e));
    expect(id.targetLifecycleState).toBe("Warmed:Stopped");
    expect(id.userData).toBe("#!/bin/sh\nrole=web\n");
    const without = await readIdentity(fast(e, { userData: false }));
    expect(without.userData).toBeUndefined();
  });

  it("falls back to the identity document for the region when placement/region is missing", async () => {
    const e = await start();
    await e.setFault({ kind: "error", status: 404, path: "/latest/meta-data/placement/region" });
    expect((await readIdentity(fast(e))).region).toBe("eu-central-1");
    expect(e.requests.some((r) => r.path === "/latest/dynamic/instance-identity/document")).toBe(true);
  });

  it("chooses the instance by the client's source address through the default route", async () => {
    emu = await startMetadataEmulator({
      instances: [WEB, { instanceId: "i-other", address: "127.77.0.40", securityGroups: ["db"] }],
      defaultInstanceId: "i-other",
    });
    // This process connects from 127.0.0.1, which is no instance's address: the default answers.
    expect((await readIdentity(fast(emu))).instanceId).toBe("i-other");
  });
});

describe("IMDSv1 is never used", () => {
  it("the emulator answers 401 to the real client in IMDSv1 mode", async () => {
    const e = await start();
    const v1 = new MetadataService({
      endpoint: e.url,
      disableFetchToken: true,
      ec2MetadataV1Disabled: false,
      retries: 0,
      httpOptions: { timeout: 500 },
    });
    await expect(v1.request("/latest/meta-data/instance-id", {})).rejects.toThrow(/401/);
    expect(e.requests.map((r) => [r.method, r.status])).toEqual([["GET", 401]]);
  });

  it("when no token can be had, readIdentity fails and sends no GET at all", async () => {
    const e = await start();
    await e.setFault({ kind: "error", status: 403, path: "/latest/api/token" });
    const err = await failure(readIdentity(fast(e)));
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toContain(`metadata service at ${e.url}`);
    expect(err.message).toContain("/latest/meta-data/instance-id");
    expect(e.requests.filter((r) => r.method === "GET")).toEqual([]);
  });
});

describe("failures are bounded RunErrors naming the endpoint and the path", () => {
  it("down (sockets destroyed): RunError after the bounded retries", async () => {
    const e = await start();
    await e.setFault({ kind: "down" });
    const t0 = Date.now();
    const err = await failure(readIdentity(fast(e)));
    // bounded retries with short pauses, no timeout waited for (a generous bound)
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toBe(
      `metadata service at ${e.url} failed GET /latest/meta-data/instance-id: connection reset (3 attempts)`,
    );
    expect(e.requests.filter((r) => r.status === "destroyed")).toHaveLength(3);
  });

  it("down (connection refused): RunError that says so", async () => {
    const e = await start();
    await e.setFault({ kind: "down", mode: "refuse" });
    const t0 = Date.now();
    const err = await failure(readIdentity(fast(e)));
    // bounded retries with short pauses, no timeout waited for (a generous bound)
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toMatch(/failed GET \/latest\/meta-data\/instance-id: connection refused/);
  });

  it("slow: TimeoutError 'did not answer GET ... within N ms'", async () => {
    const e = await start();
    await e.setFault({ kind: "slow", delayMs: 60_000, path: "/latest/meta-data/instance-id" });
    const t0 = Date.now();
    const err = await failure(readIdentity(fast(e, { timeoutMs: 150, retries: 1 })));
    // the answer would come after a minute: the 150 ms timeouts ended it
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toBe(
      `metadata service at ${e.url} did not answer GET /latest/meta-data/instance-id within 150 ms (2 attempts)`,
    );
  });

  it("slow token endpoint: the timeout names the GET and says the token request timed out", async () => {
    const e = await start();
    await e.setFault({ kind: "slow", delayMs: 1000 });
    const err = await failure(readIdentity(fast(e, { timeoutMs: 100, retries: 0 })));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toContain("did not answer GET /latest/meta-data/instance-id within 100 ms");
    expect(err.message).toContain("PUT /latest/api/token timed out");
  });

  it("500s are retried, then an error with the status", async () => {
    const e = await start();
    await e.setFault({ kind: "error", status: 500, path: "/latest/meta-data/instance-id" });
    const err = await failure(readIdentity(fast(e)));
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toBe(
      `metadata service at ${e.url} answered GET /latest/meta-data/instance-id with HTTP 500 (3 attempts)`,
    );
    expect(e.requests.filter((r) => r.method === "GET" && r.status === 500)).toHaveLength(3);
  });

  it("500s from the token endpoint are retried too", async () => {
    const e = await start();
    await e.setFault({ kind: "error", status: 500 });
    const err = await failure(readIdentity(fast(e, { retries: 1 })));
    expect(err.message).toMatch(
      /answered PUT \/latest\/api\/token \(token for GET \/latest\/meta-data\/instance-id\) with HTTP 500/,
    );
    expect(e.requests.filter((r) => r.method === "PUT")).toHaveLength(2);
  });

  it("a required path answering 404 is not retried", async () => {
    const e = await start();
    await e.setFault({ kind: "error", status: 404, path: "/latest/meta-data/security-groups" });
    const err = await failure(readIdentity(fast(e)));
    expect(err.message).toBe(
      `metadata service at ${e.url} answered GET /latest/meta-data/security-groups with HTTP 404`,
    );
    expect(e.requests.filter((r) => r.path === "/latest/meta-data/security-groups")).toHaveLength(1);
  });

  it("an optional path failing with 500 fails the whole read (fail closed)", async () => {
    const e = await start({ ...WEB, tags: { Role: "web" } });
    await e.setFault({ kind: "error", status: 500, path: "/latest/meta-data/tags" });
    const err = await failure(readIdentity(fast(e, { retries: 0 })));
    expect(err.message).toContain("GET /latest/meta-data/tags/instance with HTTP 500");
  });

  it("the overall deadline bounds the whole read", async () => {
    const e = await start();
    await e.setFault({ kind: "slow", delayMs: 400 });
    const err = await failure(readIdentity(fast(e, { timeoutMs: 1000, deadlineMs: 200 })));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toBe(
      `metadata service at ${e.url}: reading the instance identity took longer than 200 ms`,
    );
  });

  it("rejects bad options with InputError", async () => {
    await expect(readIdentity({ endpoint: "not a url" })).rejects.toThrow(InputError);
    await expect(readIdentity({ endpoint: "ftp://x" })).rejects.toThrow(InputError);
    await expect(readIdentity({ endpoint: "http://127.0.0.1:1", timeoutMs: 0 })).rejects.toThrow(InputError);
    await expect(readIdentity({ endpoint: "http://127.0.0.1:1", tokenTtlSeconds: 21601 })).rejects.toThrow(
      InputError,
    );
  });
});

describe("helpers and module shape", () => {
  it("encodes tag keys for the path, keeping ':'", () => {
    expect(encodeTagKey("aws:autoscaling:groupName")).toBe("aws:autoscaling:groupName");
    expect(encodeTagKey("Cost Center")).toBe("Cost%20Center");
  });

  it("splits listings into trimmed non-empty lines", () => {
    expect(metadataLines("a\r\nb\n\n c \n")).toEqual(["a", "b", "c"]);
  });

  it("imports the AWS SDK only lazily (type-only at the top)", () => {
    const src = readFileSync(new URL("./metadata.ts", import.meta.url), "utf8");
    const staticSdk = src.split("\n").filter((l) => /^import\s+(?!type\b).*@aws-sdk/.test(l));
    expect(staticSdk).toEqual([]);
    expect(src).toContain('await import("@aws-sdk/ec2-metadata-service")');
  });
});
