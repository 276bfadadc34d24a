/**
 * The parts of an emulated instance's metadata that AWS derives from its network interface, and
 * the instance identity signatures: PURE, stable for an instance (the same address and id give
 * the same values at every launch).
 *
 * Paths and names follow "Instance metadata categories" (Amazon EC2 user guide): `mac`, and under
 * `network/interfaces/macs/<mac>/` device-number, interface-id, local-hostname, local-ipv4s, mac,
 * owner-id, security-group-ids, security-groups, subnet-id, subnet-ipv4-cidr-block, vpc-id,
 * vpc-ipv4-cidr-block, vpc-ipv4-cidr-blocks. The ids are made up (hashes of the names), in AWS's
 * formats (sg-, subnet-, vpc-, eni- and 17 hex digits).
 *
 * The identity signatures (`dynamic/instance-identity/signature`, `pkcs7`, `rsa2048`; "Instance
 * identity documents", Amazon EC2 user guide) are fixed test values: base64 text that says it is
 * no signature. Nothing verifies against AWS's public certificates here, and code that does
 * must fail on them, as it should for anything not signed by AWS.
 */
import { createHash } from "node:crypto";

/** A made-up AWS resource id: `<prefix>-` and 17 hex digits from a hash of `seed`. */
export function resourceId(prefix: string, seed: string): string {
  return `${prefix}-${createHash("sha256").update(`${prefix}:${seed}`).digest("hex").slice(0, 17)}`;
}

/**
 * The primary interface's MAC, from its IPv4 address: locally administered (02:...), unique per
 * address, as AWS's are per interface ("0e:4d:7f:00:00:03"-like; AWS does not say how it picks them).
 */
export function macFor(ipv4: string): string {
  const octets = ipv4.split(".").map((o) => Number(o) & 255);
  while (octets.length < 4) octets.push(0);
  return ["02", "00", ...octets.slice(0, 4).map((o) => o.toString(16).padStart(2, "0"))].join(":");
}

export interface NetworkInput {
  instanceId: string;
  ipv4: string;
  hostname: string;
  accountId: string;
  zone: string;
  securityGroups: string[];
  /** default: made-up ids of the group names */
  securityGroupIds?: string[];
  subnetId?: string;
  vpcId?: string;
}

/** `network/interfaces/macs/<mac>/`'s leaves for the primary interface. */
export function primaryInterface(n: NetworkInput): { mac: string; leaves: [string, string][] } {
  const mac = macFor(n.ipv4);
  const [a, b, c] = n.ipv4.split(".");
  const vpcId = n.vpcId ?? resourceId("vpc", n.accountId);
  const vpcCidr = `${a}.${b}.0.0/16`;
  const leaves: [string, string][] = [
    ["device-number", "0"],
    ["interface-id", resourceId("eni", n.instanceId)],
    ["local-hostname", n.hostname],
    ["local-ipv4s", n.ipv4],
    ["mac", mac],
    ["owner-id", n.accountId],
    [
      "security-group-ids",
      (n.securityGroupIds ?? n.securityGroups.map((g) => resourceId("sg", g))).join("\n"),
    ],
    ["security-groups", n.securityGroups.join("\n")],
    ["subnet-id", n.subnetId ?? resourceId("subnet", `${n.accountId}/${n.zone}`)],
    ["subnet-ipv4-cidr-block", `${a}.${b}.${c}.0/24`],
    ["vpc-id", vpcId],
    ["vpc-ipv4-cidr-block", vpcCidr],
    ["vpc-ipv4-cidr-blocks", vpcCidr],
  ];
  return { mac, leaves };
}

/** A fixed stand-in for a signature: base64 of a sentence that says what it is. */
function notASignature(kind: string, instanceId: string): string {
  const text = `muster fleet rehearsal: ${kind} of ${instanceId} is a fixed test value, not signed by AWS`;
  // IMDS wraps pkcs7 and rsa2048 at 64 characters, as PEM bodies are
  return (
    Buffer.from(text)
      .toString("base64")
      .match(/.{1,64}/g)
      ?.join("\n") ?? ""
  );
}

/** `dynamic/instance-identity/` signature, pkcs7 and rsa2048: fixed test values. */
export function identitySignatures(instanceId: string): [string, string][] {
  return [
    ["pkcs7", notASignature("pkcs7", instanceId)],
    ["rsa2048", notASignature("rsa2048", instanceId)],
    ["signature", notASignature("signature", instanceId).replaceAll("\n", "")],
  ];
}
