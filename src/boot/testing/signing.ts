/** SSH signing keys and signed commits for tests of `repo.verify` (ssh-keygen and git only). */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { execOk } from "../../host/exec.ts";

export const SIGNER_EMAIL = "release@example.test";

/** A fresh ed25519 key pair; returns the private key's path. */
export async function makeSigningKey(dir: string, name: string): Promise<string> {
  const key = path.join(dir, name);
  await execOk(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key]);
  return key;
}

/** An allowed_signers file trusting these keys for git signatures. */
export function allowedSigners(file: string, keys: string[]): void {
  const lines = keys.map(
    (k) => `${SIGNER_EMAIL} namespaces="git" ${readFileSync(`${k}.pub`, "utf8").trim()}`,
  );
  writeFileSync(file, `${lines.join("\n")}\n`);
}

/** Commit everything in the work tree, signed with `key` (or unsigned when key is undefined). */
export async function commitSigned(work: string, message: string, key?: string): Promise<string> {
  const id = ["-c", "user.name=release", "-c", `user.email=${SIGNER_EMAIL}`];
  const sign = key
    ? ["-c", "gpg.format=ssh", "-c", `user.signingkey=${key}`, "-c", "commit.gpgsign=true"]
    : ["-c", "commit.gpgsign=false"];
  await execOk(["git", "-C", work, "add", "-A"]);
  await execOk(["git", "-C", work, ...id, ...sign, "commit", "-q", "--allow-empty", "-m", message]);
  return (await execOk(["git", "-C", work, "rev-parse", "HEAD"])).stdout.trim();
}
