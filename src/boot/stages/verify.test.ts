import { cpSync, mkdirSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execOk } from "../../host/exec.ts";
import { RootFs } from "../../host/root-fs.ts";
import { cleanupTmp, EXAMPLES, tmpDir } from "../../test-support/tmp.ts";
import { allowedSigners, commitSigned, makeSigningKey } from "../testing/signing.ts";
import { verifyCommit } from "./verify.ts";

let work: string;
let root: string;
let trusted: string;
let stranger: string;

beforeAll(async () => {
  const keys = tmpDir();
  trusted = await makeSigningKey(keys, "trusted");
  stranger = await makeSigningKey(keys, "stranger");
  root = tmpDir();
  mkdirSync(path.join(root, "etc/muster"), { recursive: true });
  allowedSigners(path.join(root, "etc/muster/allowed_signers"), [trusted]);
  work = tmpDir();
  cpSync(path.join(EXAMPLES, "config-repo"), work, { recursive: true });
  await execOk(["git", "init", "-q", "-b", "master", work]);
});
afterAll(cleanupTmp);

const verify = (commit: string, signers = "/etc/muster/allowed_signers") =>
  verifyCommit(new RootFs(root), work, commit, signers);

describe("verifying the fetched commit's signature", () => {
  it("passes a commit signed by an allowed key", async () => {
    await expect(verify(await commitSigned(work, "signed", trusted))).resolves.toBeUndefined();
  });

  it("fails a commit signed by a key that is not allowed", async () => {
    const commit = await commitSigned(work, "signed by a stranger", stranger);
    await expect(verify(commit)).rejects.toThrow(
      new RegExp(`^commit ${commit.slice(0, 12)} is not signed by a key in /etc/muster/allowed_signers: `),
    );
  });

  it("fails an unsigned commit", async () => {
    const commit = await commitSigned(work, "unsigned");
    await expect(verify(commit)).rejects.toThrow(/is not signed by a key in/);
  });

  it("the allowed signers file is the root's, through a link in the root to an absolute path too", async () => {
    // a directory the host itself has not: were the link followed outside the root, nothing is found
    mkdirSync(path.join(root, "muster-test-signers"), { recursive: true });
    allowedSigners(path.join(root, "muster-test-signers/allowed"), [trusted]);
    symlinkSync("/muster-test-signers/allowed", path.join(root, "etc/muster/linked_signers"));
    const commit = await commitSigned(work, "signed, checked through a link", trusted);
    await expect(verify(commit, "/etc/muster/linked_signers")).resolves.toBeUndefined();
  });

  it("a missing allowed signers file is bad input", async () => {
    const commit = await commitSigned(work, "signed again", trusted);
    await expect(verify(commit, "/etc/muster/nope")).rejects.toThrow(
      "repo.verify.allowedSigners /etc/muster/nope: no such file under the root",
    );
  });
});
