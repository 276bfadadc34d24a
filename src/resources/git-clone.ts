/** How muster clones a branch or tag: the git resource and the boot's fetch of the config repo. */
import { storedUrl } from "./git-credentials.ts";

/**
 * The one process of a fresh branch or tag checkout. Pure. `--branch` takes a branch or a tag,
 * branch first, as resolveRevision does, and makes a local branch of that name (a tag is
 * checked out detached). A repository given as a local path is copied, not fetched, and git
 * then ignores --depth (with a warning): --no-local makes it fetch, so the checkout is shallow
 * as promised; git ignores --no-local for URLs. A full clone of a local path keeps git's
 * hardlinked copy, the cheapest there is. The URL is given without its credentials (they reach
 * git through gitEnv), so they are neither on the command line nor stored as origin.
 */
export function cloneArgv(repository: string, dest: string, rev: string, depth: number): string[] {
  return [
    "git",
    "clone",
    "-q",
    "--no-tags",
    ...(depth > 0 ? [`--depth=${depth}`, "--no-local"] : []),
    "--branch",
    rev,
    "--single-branch",
    "--",
    storedUrl(repository),
    dest,
  ];
}
