import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import { NodeSha256, sameSecret, verifySigV4 } from "./sigv4-verify.ts";

const KEY = {
  accessKeyId: "AKIAEXAMPLEEXAMPLE00",
  secretAccessKey: "secret/example/secret/example/secret0000",
};
const NOW = Date.UTC(2024, 0, 2, 3, 4, 5);

/** A request signed as the SDK signs it: the path as it goes on the wire (percent-encoded). */
async function signed(path: string) {
  const signer = new SignatureV4({
    service: "autoscaling",
    region: "eu-west-1",
    credentials: KEY,
    sha256: NodeSha256,
    uriEscapePath: true,
  });
  const body = "Action=DescribeAutoScalingGroups&Version=2011-01-01";
  const req = await signer.sign(
    {
      method: "POST",
      protocol: "http:",
      hostname: "127.0.0.1",
      path,
      query: {},
      headers: { host: "127.0.0.1:4000", "content-type": "application/x-www-form-urlencoded" },
      body,
    },
    { signingDate: new Date(NOW) },
  );
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: "POST", url: path, headers, body };
}

const expectation = {
  service: "autoscaling",
  region: "eu-west-1",
  now: NOW,
  findKey: (id: string) => (id === KEY.accessKeyId ? { secretAccessKey: KEY.secretAccessKey } : undefined),
};

describe("verifySigV4: the canonical URI", () => {
  it("accepts a request on a percent-encoded path, which AWS (not S3) encodes once more", async () => {
    const r = await verifySigV4(await signed("/a%20b/c%2Fd"), expectation);
    expect(r).toEqual({ ok: true, accessKeyId: KEY.accessKeyId });
  });

  it("refuses a request whose path was changed after signing", async () => {
    const req = await signed("/a%20b");
    const r = await verifySigV4({ ...req, url: "/a%20c" }, expectation);
    expect(r).toMatchObject({ ok: false, code: "SignatureDoesNotMatch" });
  });

  it("answers a malformed escape in the path with a refusal, not an exception", async () => {
    const req = await signed("/");
    const r = await verifySigV4({ ...req, url: "/%zz" }, expectation);
    expect(r).toMatchObject({ ok: false, code: "SignatureDoesNotMatch" });
  });
});

describe("sameSecret", () => {
  it("matches equal secrets only, whatever their lengths; a missing one matches only a missing one", () => {
    expect(sameSecret("token-1", "token-1")).toBe(true);
    expect(sameSecret("token-1", "token-2")).toBe(false);
    expect(sameSecret("token", "token-longer")).toBe(false);
    expect(sameSecret("", "x")).toBe(false);
    expect(sameSecret(undefined, "x")).toBe(false);
    expect(sameSecret("x", undefined)).toBe(false);
    expect(sameSecret(undefined, undefined)).toBe(true);
  });

  it("a session token that differs only in its last byte is refused as invalid", async () => {
    const req = await signed("/");
    const withToken = (token: string) => ({
      ...req,
      headers: { ...req.headers, "x-amz-security-token": token },
    });
    const exp = {
      ...expectation,
      findKey: (id: string) =>
        id === KEY.accessKeyId
          ? { secretAccessKey: KEY.secretAccessKey, sessionToken: "session-token-A" }
          : undefined,
    };
    const res = await verifySigV4(withToken("session-token-B"), exp);
    expect(res).toMatchObject({ ok: false, code: "InvalidClientTokenId" });
  });
});
