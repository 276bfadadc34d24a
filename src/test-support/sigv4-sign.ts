/**
 * Signs a raw test request with SigV4 as the SDK does (the SDK's own signer), for tests that
 * speak HTTP to the Auto Scaling emulator without a client.
 */
import { SignatureV4 } from "@smithy/signature-v4";
import { NodeSha256 } from "../fleet/aws/sigv4-verify.ts";

export interface TestKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The headers of a signed form POST of `body` to `url` ("/" path). */
export async function signedFormHeaders(
  url: string,
  body: string,
  keys: TestKeys,
  opts: { region?: string; date?: Date } = {},
): Promise<Record<string, string>> {
  const u = new URL(url);
  const signer = new SignatureV4({
    service: "autoscaling",
    region: opts.region ?? "us-east-1",
    credentials: keys,
    sha256: NodeSha256,
  });
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: u.protocol,
      hostname: u.hostname,
      port: Number(u.port),
      path: "/",
      query: {},
      headers: { host: u.host, "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      body,
    },
    { signingDate: opts.date ?? new Date() },
  );
  return signed.headers as Record<string, string>;
}
