/**
 * Reading a working tree's HEAD and origin straight from .git, without spawning git: a no-op
 * converge reads these on every run, and two git processes cost more than the rest of the
 * resource. Anything unusual (a .git file of a linked worktree, a reftable repository, a
 * missing ref) answers undefined, and the caller asks git itself.
 */
import * as path from "node:path";
import { isDirectory, readText } from "../host/host-files.ts";

const SHA = /^[0-9a-f]{40}$/;

export function readHeadFromFiles(workTree: string): string | undefined {
  const gitDir = path.join(workTree, ".git");
  try {
    if (!isDirectory(gitDir)) return undefined;
    const head = readText(path.join(gitDir, "HEAD")).trim();
    if (SHA.test(head)) return head;
    const m = /^ref: (refs\/[^\s]+)$/.exec(head);
    if (!m) return undefined;
    return resolveRef(gitDir, m[1]);
  } catch {
    return undefined;
  }
}

function resolveRef(gitDir: string, ref: string): string | undefined {
  try {
    const loose = readText(path.join(gitDir, ref)).trim();
    if (SHA.test(loose)) return loose;
  } catch {}
  try {
    return parsePackedRefs(readText(path.join(gitDir, "packed-refs"))).get(ref);
  } catch {
    return undefined;
  }
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
  try {
    return parseOriginUrl(readText(path.join(workTree, ".git/config")));
  } catch {
    return undefined;
  }
}
