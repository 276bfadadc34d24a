/**
 * Checks a request's AWS Signature Version 4 as AWS does, for the local fleet's emulators: the
 * signature is computed again from the request as received, with `@smithy/signature-v4` (the
 * signer the SDK itself uses) and the secret of the key the request names, and compared.
 *
 * AWS, "Elements of an AWS API request signature" and "Create a signed AWS API request"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
 * - the Authorization header: `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request,
 *   SignedHeaders=h1;h2, Signature=HEX`; host and x-amz-date must be signed;
 * - the request time (X-Amz-Date) must be within 15 minutes of the server's: otherwise
 *   SignatureDoesNotMatch "Signature expired" (or "not yet current");
 * - temporary keys need their session token in X-Amz-Security-Token.
 * The codes and messages are AWS's (Auto Scaling's "Common Errors"): MissingAuthenticationToken,
 * IncompleteSignature, InvalidClientTokenId, ExpiredToken, SignatureDoesNotMatch, all HTTP 403.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";

export const SIGNATURE_WINDOW_MS = 15 * 60_000;

export interface SignedRequest {
  method: string;
  /** the request target as received: path and query */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface VerifyingKey {
  secretAccessKey: string;
  sessionToken?: string;
  /** ms since the epoch, temporary keys only */
  expiresAt?: number;
}

export interface SigV4Expectation {
  service: string;
  region: string;
  now: number;
  findKey(accessKeyId: string): VerifyingKey | undefined;
}

export type SigV4Refusal = { code: string; message: string };
export type SigV4Result = { ok: true; accessKeyId: string } | ({ ok: false } & SigV4Refusal);

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const refuse = (code: string, message: string): SigV4Result => ({ ok: false, code, message });

/** The parts of an Authorization header, or AWS's complaint about it. */
export function parseAuthorization(header: string): ParsedAuthorization | SigV4Refusal {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(header.trim());
  if (!m) {
    return {
      code: "IncompleteSignature",
      message: `Authorization header requires the AWS4-HMAC-SHA256 algorithm (got '${header.split(/\s/)[0]}')`,
    };
  }
  const fields = new Map<string, string>();
  for (const part of m[1]!.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ["Credential", "SignedHeaders", "Signature"].filter((k) => !fields.get(k));
  if (missing.length > 0) {
    return {
      code: "IncompleteSignature",
      message: missing.map((k) => `Authorization header requires '${k}' parameter.`).join(" "),
    };
  }
  const scope = fields.get("Credential")!.split("/");
  if (scope.length !== 5 || scope[4] !== "aws4_request" || !/^\d{8}$/.test(scope[1]!) || !scope[0]) {
    return {
      code: "IncompleteSignature",
      message: `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${fields.get("Credential")}'`,
    };
  }
  return {
    accessKeyId: scope[0]!,
    date: scope[1]!,
    region: scope[2]!,
    service: scope[3]!,
    signedHeaders: fields
      .get("SignedHeaders")!
      .split(";")
      .map((h) => h.trim().toLowerCase()),
    signature: fields.get("Signature")!,
  };
}

/** "20240101T000000Z" -> ms since the epoch, or undefined. */
export function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(t) ? undefined : t;
}

const amzDate = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");

/** SHA-256 and HMAC-SHA-256 as the signer wants them (a hash class), from node:crypto. */
export class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key =
      secret === undefined
        ? undefined
        : typeof secret === "string"
          ? Buffer.from(secret)
          : ArrayBuffer.isView(secret)
            ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
            : Buffer.from(secret);
    this.hash = key ? createHmac("sha256", key) : createHash("sha256");
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(
      typeof data === "string"
        ? Buffer.from(data)
        : ArrayBuffer.isView(data)
          ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
          : Buffer.from(data),
    );
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

/**
 * Whether a secret given (a session token, a signature) is the one expected, in a time that does
 * not depend on where they first differ: a plain comparison stops at the first differing byte,
 * which a caller timing many requests can use to guess the secret byte by byte. Both are hashed
 * first, so their lengths do not show either. A missing one matches nothing but a missing one.
 */
export function sameSecret(given: string | undefined, expected: string | undefined): boolean {
  if (given === undefined || expected === undefined) return given === expected;
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

/** Verify the request's SigV4 Authorization header; the refusal AWS would answer, if any. */
export async function verifySigV4(req: SignedRequest, exp: SigV4Expectation): Promise<SigV4Result> {
  const auth = header(req.headers, "authorization");
  if (!auth) return refuse("MissingAuthenticationToken", "Request is missing Authentication Token");
  const parsed = parseAuthorization(auth);
  if ("code" in parsed) return refuse(parsed.code, parsed.message);
  const key = exp.findKey(parsed.accessKeyId);
  if (!key) return refuse("InvalidClientTokenId", "The security token included in the request is invalid.");
  const token = header(req.headers, "x-amz-security-token");
  if (key.sessionToken !== undefined || token !== undefined) {
    if (!sameSecret(token, key.sessionToken))
      return refuse("InvalidClientTokenId", "The security token included in the request is invalid.");
    if (key.expiresAt !== undefined && key.expiresAt <= exp.now)
      return refuse("ExpiredToken", "The security token included in the request is expired");
  }

  const dateText = header(req.headers, "x-amz-date");
  if (!dateText)
    return refuse(
      "IncompleteSignature",
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  const signedAt = parseAmzDate(dateText);
  if (signedAt === undefined)
    return refuse(
      "IncompleteSignature",
      `X-Amz-Date '${dateText}' must be in the ISO8601 basic format 'yyyyMMddTHHmmssZ'.`,
    );

  if (signedAt < exp.now - SIGNATURE_WINDOW_MS) {
    return refuse(
      "SignatureDoesNotMatch",
      `Signature expired: ${dateText} is now earlier than ${amzDate(exp.now - SIGNATURE_WINDOW_MS)} (${amzDate(exp.now)} - 15 min.)`,
    );
  }
  if (signedAt > exp.now + SIGNATURE_WINDOW_MS) {
    return refuse(
      "SignatureDoesNotMatch",
      `Signature not yet current: ${dateText} is still later than ${amzDate(exp.now + SIGNATURE_WINDOW_MS)} (${amzDate(exp.now)} + 15 min.)`,
    );
  }
  if (parsed.date !== dateText.slice(0, 8)) {
    return refuse(
      "SignatureDoesNotMatch",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${parsed.date}' != '${dateText.slice(0, 8)}', from '${dateText}'.`,
    );
  }
  if (parsed.service !== exp.service)
    return refuse(
      "SignatureDoesNotMatch",
      `Credential should be scoped to correct service: '${exp.service}'. `,
    );
  if (parsed.region !== exp.region)
    return refuse(
      "SignatureDoesNotMatch",
      `Credential should be scoped to a valid region, not '${parsed.region}'. `,
    );

  for (const required of ["host", "x-amz-date"]) {
    if (!parsed.signedHeaders.includes(required))
      return refuse(
        "SignatureDoesNotMatch",
        `'${required}' must be a 'SignedHeader' in the AWS Authorization.`,
      );
  }
  // The signer takes a signed x-amz-content-sha256 as the payload's hash without hashing the body:
  // a body swapped under a kept header would pass. The hash must be the body's.
  const claimed = header(req.headers, "x-amz-content-sha256");
  if (claimed !== undefined && claimed !== createHash("sha256").update(req.body).digest("hex"))
    return refuse("SignatureDoesNotMatch", SIGNATURE_MISMATCH);
  // The request again, with exactly the headers the client signed, signed with the key's secret.
  // prefixed, not resolved against a base: a target "//other/x" is a path, not a host
  const target = new URL(`http://placeholder${req.url.startsWith("/") ? "" : "/"}${req.url}`);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of target.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const headers: Record<string, string> = {};
  for (const name of parsed.signedHeaders) {
    const v = header(req.headers, name);
    if (v === undefined) return refuse("SignatureDoesNotMatch", SIGNATURE_MISMATCH);
    headers[name] = v;
  }
  const signer = new SignatureV4({
    service: exp.service,
    region: exp.region,
    credentials: {
      accessKeyId: parsed.accessKeyId,
      secretAccessKey: key.secretAccessKey,
      // only when the client signed it: the signer would add and sign it otherwise
      ...(parsed.signedHeaders.includes("x-amz-security-token") && token ? { sessionToken: token } : {}),
    },
    sha256: NodeSha256,
    uriEscapePath: true,
    // the signer would add and sign x-amz-content-sha256 when the client did not
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: "http:",
      hostname: (headers.host ?? "").replace(/:\d+$/, ""),
      // as received, percent-encoded: the SDK signs the encoded path and the signer encodes it
      // once more (AWS's double encoding for every service but S3); decoding it here would
      // refuse every signed path with an escape in it, and throw on a malformed one
      path: target.pathname,
      query,
      headers,
      body: req.body,
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(parsed.signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization))?.[1] ?? "";
  if (!sameSecret(parsed.signature, expected)) return refuse("SignatureDoesNotMatch", SIGNATURE_MISMATCH);
  return { ok: true, accessKeyId: parsed.accessKeyId };
}

export const SIGNATURE_MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
