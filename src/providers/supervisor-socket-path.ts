/**
 * Where a root's supervisor listens, checked: in the root, or for a deep root in this user's
 * private directory under /tmp. muster runs as root; a shared name there (`/tmp/x.sock`) could be
 * listened on first by another user, who would then receive root's requests. So the directory
 * is `/tmp/muster-<uid>`, 0700 and this user's, and one another user made first is refused.
 */
import * as path from "node:path";
import { RunError } from "../core/errors.ts";
import { userPrivateDir } from "../host/private-dir.ts";
import { fallbackSocketName, SOCKET_FALLBACK_BASE, socketInRoot } from "./supervisor-policy.ts";

/**
 * The supervisor socket of `root` (a host path). A deep root's private directory is made when
 * missing; one that is not private is a RunError, one line. `base`: /tmp, another in tests.
 */
export function supervisorSocketPath(root: string, base = SOCKET_FALLBACK_BASE): string {
  const inRoot = socketInRoot(root);
  if (inRoot) return inRoot;
  const { dir, problem } = userPrivateDir(base);
  if (problem) throw new RunError(`the supervisor socket's directory: ${problem}`);
  return path.join(dir, fallbackSocketName(root));
}
