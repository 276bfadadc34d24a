/**
 * Reading a working tree's HEAD and origin straight from .git, without spawning git: a no-op
 * converge reads these on every run, and two git processes cost more than the rest of the
 * resource. Anything unusual (a .git file of a linked worktree, a reftable repository, a
 * missing ref) answers undefined, and the caller asks git itself. A FIFO or a device where one of
 * these files should be (a checkout its app's user owns may hold anything) is an error: read, it
 * would hang muster (and git after it), holding the boot's lock.
 */
import * as path from "node:path";
import { RunError } from "../core/errors.ts";
import { isDirectory, NotPlainFile, readSmallFile } from "../host/host-files.ts";

/** HEAD, a loose ref, .git/config: a few hundred bytes; packed-refs may list many refs. */
const SMALL = 1024 * 1024;
const PACKED_REFS_MAX = 64 * 1024 * 1024;

/** A file of .git, or an error if it is anything but a plain file (see the top). */
function readGitFile(gitDir: string, name: string, max = SMALL): string {
  try {
    return readSmallFile(path.join(gitDir, name), max);
  } catch (err) {
    if (err instanceof NotPlainFile)
      throw new RunError(
        `.git/${name} in the checkout is not a regular file of at most ${max} bytes; muster will not read it: move the checkout away`,
      );
    throw err;
  }
}

/** undefined for what git itself should be asked about; a RunError for what nothing should read. */
function orUndefined<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (err instanceof RunError) throw err;
    return undefined;
  }
}

const SHA = /^[0-9a-f]{40}$/;

export function readHeadFromFiles(workTree: string): string | undefined {
  const gitDir = path.join(workTree, ".git");
  return orUndefined(() => {
    if (!isDirectory(gitDir)) return undefined;
    const head = readGitFile(gitDir, "HEAD").trim();
    if (SHA.test(head)) return head;
    const m = /^ref: (refs\/[^\s]+)$/.exec(head);
    if (!m) return undefined;
    return resolveRef(gitDir, m[1]);
  });
}

function resolveRef(gitDir: string, ref: string): string | undefined {
  const loose = orUndefined(() => readGitFile(gitDir, ref).trim());
  if (loose !== undefined && SHA.test(loose)) return loose;
  return orUndefined(() => parsePackedRefs(readGitFile(gitDir, "packed-refs", PACKED_REFS_MAX)).get(ref));
}

/** packed-refs: "<sha> <ref>" lines, "^<sha>" peel lines and "#" comments. Pure. */
export function parsePackedRefs(text: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]{40}) (refs\/\S+)$/.exec(line);
    if (m) refs.set(m[2], m[1]);
  }
  return refs;
}

/** remote.origin.url from .git/config, or undefined when it cannot be read simply. Pure. */
export function parseOriginUrl(config: string): string | undefined {
  let inOrigin = false;
  for (const raw of config.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) inOrigin = /^\[remote\s+"origin"\]$/.test(line);
    else if (inOrigin) {
      const m = /^url\s*=\s*(.*)$/.exec(line);
      if (m) return m[1].replace(/^"(.*)"$/, "$1");
    }
  }
  return undefined;
}

export function readOriginFromFiles(workTree: string): string | undefined {
  return orUndefined(() => parseOriginUrl(readGitFile(path.join(workTree, ".git"), "config")));
}
