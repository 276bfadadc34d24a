import { describe, expect, it } from "vitest";
import { CredentialsIssuer, imdsCredentialsDocument, OPERATOR_POLICY } from "./credentials-issuer.ts";

describe("CredentialsIssuer", () => {
  it("role keys: ASIA with a token, the same until rotateBefore ahead of expiry, then new; old ones still valid", () => {
    let t = Date.UTC(2024, 0, 1);
    const issuer = new CredentialsIssuer({ roleLifetimeMs: 60_000, rotateBeforeMs: 10_000, now: () => t });
    const a = issuer.roleKeys("r", "i-1", OPERATOR_POLICY);
    expect(a.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(a.secretAccessKey).toHaveLength(40);
    expect(a.sessionToken).toBeTruthy();
    expect(a.expiresAt).toBe(t + 60_000);
    expect(a.principal.arn).toBe("arn:aws:sts::123456789012:assumed-role/r/i-1");
    t += 49_000;
    expect(issuer.roleKeys("r", "i-1", OPERATOR_POLICY)).toBe(a);
    t += 1_000; // 10 s before expiry: new keys are served
    const b = issuer.roleKeys("r", "i-1", OPERATOR_POLICY);
    expect(b.accessKeyId).not.toBe(a.accessKeyId);
    expect(issuer.find(a.accessKeyId)).toBe(a);
    issuer.revokeSession("i-1");
    expect(issuer.find(a.accessKeyId)).toBeUndefined();
    expect(issuer.find(b.accessKeyId)).toBeUndefined();
  });

  it("operator keys: AKIA, no token, kept keys accepted again", () => {
    const issuer = new CredentialsIssuer();
    const k = issuer.operatorKeys();
    expect(k.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(k.sessionToken).toBeUndefined();
    const again = new CredentialsIssuer().operatorKeys({
      accessKeyId: k.accessKeyId,
      secretAccessKey: k.secretAccessKey,
    });
    expect(again.accessKeyId).toBe(k.accessKeyId);
  });

  it("the metadata document has AWS's fields", () => {
    const issuer = new CredentialsIssuer({ now: () => Date.UTC(2024, 0, 1) });
    const doc = JSON.parse(imdsCredentialsDocument(issuer.roleKeys("r", "i-1", OPERATOR_POLICY)));
    expect(Object.keys(doc)).toEqual([
      "Code",
      "LastUpdated",
      "Type",
      "AccessKeyId",
      "SecretAccessKey",
      "Token",
      "Expiration",
    ]);
    expect(doc).toMatchObject({
      Code: "Success",
      Type: "AWS-HMAC",
      LastUpdated: "2024-01-01T00:00:00Z",
      Expiration: "2024-01-01T06:00:00Z",
    });
  });
});
