/**
 * An annotated tag in a bare repository for tests. git needs a tagger: a machine whose user has
 * no git identity (a fresh CI user, a laptop) would refuse, so one is given here.
 */
import { execOk } from "../host/exec.ts";

export async function annotatedTag(
  gitDir: string,
  name: string,
  commit: string,
  message: string,
  opts: { force?: boolean } = {},
): Promise<void> {
  await execOk([
    ...["git", "-c", "user.name=muster-test", "-c", "user.email=test@muster.invalid"],
    ...["--git-dir", gitDir, "tag", ...(opts.force ? ["-f"] : []), "-a", "-m", message, name, commit],
  ]);
}
