/**
 * The keys the local fleet's AWS stand-ins accept, as AWS issues them: long-term access keys
 * (AKIA...) for the operator, and temporary keys (ASIA... with a session token) for each
 * instance's role, served by its metadata service and rotated before they expire.
 *
 * AWS, "Retrieve security credentials from instance metadata"
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html):
 * the credentials are temporary and rotated automatically; "we make new credentials available at
 * least five minutes before the expiration of the old credentials". Old keys stay valid until
 * their own expiration, so a client holding them is not cut off by a rotation.
 */
import { randomBytes } from "node:crypto";
import { InputError } from "../../core/errors.ts";
import type { PolicyDocument } from "./iam-policy.ts";

export const DEFAULT_ACCOUNT = "123456789012";
/** Instance-profile credentials last hours on AWS; six here. */
export const DEFAULT_ROLE_LIFETIME_MS = 6 * 3600_000;
/** New keys are served this long before the old ones expire (AWS: at least five minutes). */
export const DEFAULT_ROTATE_BEFORE_MS = 15 * 60_000;

/** Who signs with a key: the policy the emulator evaluates for it, and the ARN its refusals name. */
export type Principal =
  | { type: "operator"; arn: string; policy: PolicyDocument }
  | { type: "role"; arn: string; roleName: string; sessionName: string; policy: PolicyDocument };

export interface IssuedKey {
  accessKeyId: string;
  secretAccessKey: string;
  /** temporary keys only */
  sessionToken?: string;
  issuedAt: number;
  /** temporary keys only, ms since the epoch */
  expiresAt?: number;
  principal: Principal;
}

/** Full rights on Auto Scaling and CloudWatch Logs (the failure records): what the operator's keys may do. */
export const OPERATOR_POLICY: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["autoscaling:*", "logs:*"], Resource: "*" }],
};

export interface CredentialsIssuerOptions {
  account?: string;
  /** Lifetime of a role's temporary keys, ms. */
  roleLifetimeMs?: number;
  /** How long before expiry new role keys are served, ms; below the lifetime. */
  rotateBeforeMs?: number;
  now?: () => number;
}

// AWS key ids: 20 characters, upper-case letters and digits 2-7 after a 4-letter prefix
const KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
function keyId(prefix: "AKIA" | "ASIA"): string {
  const bytes = randomBytes(16);
  return prefix + [...bytes].map((b) => KEY_ALPHABET[b % 32]).join("");
}
const secret = () => randomBytes(30).toString("base64"); // 40 characters, as AWS's
const sessionToken = () => randomBytes(96).toString("base64");

export class CredentialsIssuer {
  readonly account: string;
  readonly roleLifetimeMs: number;
  readonly rotateBeforeMs: number;
  private readonly now: () => number;
  private readonly keys = new Map<string, IssuedKey>();
  /** the newest keys of each role session (role + instance) */
  private readonly sessions = new Map<string, IssuedKey>();

  constructor(opts: CredentialsIssuerOptions = {}) {
    this.account = opts.account ?? DEFAULT_ACCOUNT;
    if (!/^\d{12}$/.test(this.account)) throw new InputError(`account "${this.account}": 12 digits expected`);
    this.roleLifetimeMs = opts.roleLifetimeMs ?? DEFAULT_ROLE_LIFETIME_MS;
    if (!(Number.isFinite(this.roleLifetimeMs) && this.roleLifetimeMs > 0))
      throw new InputError("credentials issuer: roleLifetimeMs must be > 0");
    this.rotateBeforeMs = opts.rotateBeforeMs ?? Math.min(DEFAULT_ROTATE_BEFORE_MS, this.roleLifetimeMs / 3);
    if (!(this.rotateBeforeMs >= 0 && this.rotateBeforeMs < this.roleLifetimeMs))
      throw new InputError("credentials issuer: rotateBeforeMs must be >= 0 and below roleLifetimeMs");
    this.now = opts.now ?? Date.now;
  }

  /**
   * Long-term operator keys with full rights, new or (`keys`) ones issued by an earlier run and
   * kept in the fleet's state directory.
   */
  operatorKeys(
    keys?: { accessKeyId: string; secretAccessKey: string },
    name = "muster-fleet-operator",
  ): IssuedKey {
    const k: IssuedKey = {
      accessKeyId: keys?.accessKeyId ?? keyId("AKIA"),
      secretAccessKey: keys?.secretAccessKey ?? secret(),
      issuedAt: this.now(),
      principal: {
        type: "operator",
        arn: `arn:aws:iam::${this.account}:user/${name}`,
        policy: OPERATOR_POLICY,
      },
    };
    this.keys.set(k.accessKeyId, k);
    return k;
  }

  /**
   * The current temporary keys of a role as assumed by an instance (its session): the same until
   * `rotateBeforeMs` before they expire, then new ones.
   */
  roleKeys(roleName: string, sessionName: string, policy: PolicyDocument): IssuedKey {
    const id = `${roleName}\u0000${sessionName}`;
    const t = this.now();
    const cur = this.sessions.get(id);
    if (cur?.expiresAt !== undefined && t < cur.expiresAt - this.rotateBeforeMs) return cur;
    this.prune(t);
    const k: IssuedKey = {
      accessKeyId: keyId("ASIA"),
      secretAccessKey: secret(),
      sessionToken: sessionToken(),
      issuedAt: t,
      expiresAt: t + this.roleLifetimeMs,
      principal: {
        type: "role",
        arn: `arn:aws:sts::${this.account}:assumed-role/${roleName}/${sessionName}`,
        roleName,
        sessionName,
        policy,
      },
    };
    this.keys.set(k.accessKeyId, k);
    this.sessions.set(id, k);
    return k;
  }

  /** End a role session (its instance is gone): its keys are refused from now on. */
  revokeSession(sessionName: string): void {
    for (const [id, k] of this.keys)
      if (k.principal.type === "role" && k.principal.sessionName === sessionName) this.keys.delete(id);
    for (const [id, k] of this.sessions)
      if (k.principal.type === "role" && k.principal.sessionName === sessionName) this.sessions.delete(id);
  }

  find(accessKeyId: string): IssuedKey | undefined {
    return this.keys.get(accessKeyId);
  }

  /** Keys expired for a day are forgotten (AWS answers InvalidClientTokenId for them too). */
  private prune(t: number): void {
    for (const [id, k] of this.keys)
      if (k.expiresAt !== undefined && k.expiresAt + 86_400_000 < t) this.keys.delete(id);
  }
}

/**
 * The JSON of `/latest/meta-data/iam/security-credentials/<role>`, field for field as AWS serves
 * it ("Retrieve security credentials from instance metadata").
 */
export function imdsCredentialsDocument(k: IssuedKey): string {
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  return JSON.stringify(
    {
      Code: "Success",
      LastUpdated: iso(k.issuedAt),
      Type: "AWS-HMAC",
      AccessKeyId: k.accessKeyId,
      SecretAccessKey: k.secretAccessKey,
      Token: k.sessionToken ?? "",
      Expiration: iso(k.expiresAt ?? k.issuedAt),
    },
    null,
    2,
  );
}
