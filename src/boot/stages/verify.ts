/**
 * Stage verify: the fetched commit must carry a valid SSH signature from a key in the allowed
 * signers file (`git verify-commit` with gpg.format=ssh), or the boot fails closed.
 */
import { InputError, RunError } from "../../core/errors.ts";
import { exec, lastLine } from "../../host/exec.ts";
import type { RootFs } from "../../host/root-fs.ts";

export async function verifyCommit(
  fs: RootFs,
  dir: string,
  commit: string,
  allowedSigners: string,
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  if (!fs.stat(allowedSigners))
    throw new InputError(`repo.verify.allowedSigners ${allowedSigners}: no such file under the root`);
  const res = await exec(
    [
      "git",
      "-C",
      dir,
      "-c",
      "gpg.format=ssh",
      "-c",
      `gpg.ssh.allowedSignersFile=${fs.hostPath(allowedSigners)}`,
      "verify-commit",
      commit,
    ],
    { env: { ...env, GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C" }, timeoutMs: 30_000 },
  );
  if (res.code !== 0) {
    const why = lastLine(res.stderr) || "no signature";
    throw new RunError(`commit ${commit.slice(0, 12)} is not signed by a key in ${allowedSigners}: ${why}`);
  }
}
