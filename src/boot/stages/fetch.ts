/**
 * Stage fetch: the config repo's `ref`, fetched shallow into the state directory, reusing the
 * checkout of the previous run. Every network step is bounded; nothing ever prompts (keys and
 * host keys are given, BatchMode is on). The fetched commit is what the run converges.
 *
 * A git process costs several milliseconds on every boot, so a new server's first fetch of a
 * branch or tag is one `git clone`, and a later one is fetch, checkout and clean; origin and
 * HEAD are read from .git's files.
 */
import * as path from "node:path";
import { InputError, RunError, TimeoutError } from "../../core/errors.ts";
import { exec, lastLine } from "../../host/exec.ts";
import { type DirEntry, listDirEntries, pathExists, removePath } from "../../host/host-files.ts";
import type { RootFs } from "../../host/root-fs.ts";
import { gitCause } from "../../resources/git.ts";
import { cloneArgv } from "../../resources/git-clone.ts";
import { storedUrl } from "../../resources/git-credentials.ts";
import { gitEnv, redactUrl } from "../../resources/git-env.ts";
import { readHeadFromFiles, readOriginFromFiles } from "../../resources/git-local.ts";
import type { BootConfig } from "../boot-config.ts";
import { ensurePrivateDir } from "../state.ts";

export interface FetchOptions {
  fs: RootFs;
  stateDir: string;
  repo: BootConfig["repo"];
  /** each network step, ms */
  timeoutMs: number;
  env?: Record<string, string | undefined>;
  /** Ends the fetch: git is killed, the fetch fails (a boot's early fetch no attempt will use). */
  signal?: AbortSignal;
}

export interface FetchResult {
  /** host path of the checkout */
  dir: string;
  commit: string;
  /** time spent in the network step (git fetch; for a first clone, the clone, which also writes
   * the config repo's few files), ms */
  transferMs: number;
}

const SHA = /^[0-9a-f]{40}$/;
const LOCAL_TIMEOUT_MS = 60_000;

/** The deploy key must be private to its owner: ssh refuses other keys, muster says why first. */
export function checkDeployKey(fs: RootFs, key: string): string {
  const st = fs.stat(key);
  if (st?.type !== "file")
    throw new InputError(`repo.sshKey ${key}: no such file under the root; install the deploy key there`);
  if ((st.mode & 0o077) !== 0)
    throw new InputError(
      `repo.sshKey ${key}: the deploy key is readable or writable by group or others (mode ${(st.mode & 0o777)
        .toString(8)
        .padStart(4, "0")}); run chmod 600 ${key} (and keep it owned by the user muster runs as)`,
    );
  return fs.hostPath(key);
}

/** A run killed in the middle of a git command leaves its lock files; this run holds the boot lock. */
function removeStaleGitLocks(gitDir: string): void {
  const walk = (d: string, depth: number) => {
    let entries: DirEntry[];
    try {
      entries = listDirEntries(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.kind === "file" && e.name.endsWith(".lock")) removePath(p);
      else if (e.kind === "directory" && depth > 0 && (d === gitDir ? e.name === "refs" : true))
        walk(p, depth - 1);
    }
  };
  walk(gitDir, 6);
}

export async function fetchConfigRepo(o: FetchOptions): Promise<FetchResult> {
  const { fs, repo } = o;
  // git is given the URL without credentials, and they through its environment (gitEnv)
  const url = storedUrl(repo.url);
  const shown = redactUrl(repo.url);
  const keyHost = repo.sshKey ? checkDeployKey(fs, repo.sshKey) : undefined;
  let knownHostsHost: string | undefined;
  if (repo.knownHosts) {
    if (!fs.stat(repo.knownHosts))
      throw new InputError(`repo.knownHosts ${repo.knownHosts}: no such file under the root`);
    knownHostsHost = fs.hostPath(repo.knownHosts);
  }
  const env = gitEnv(o.env ?? process.env, {
    sshKey: keyHost,
    knownHosts: knownHostsHost,
    connectTimeout: Math.max(1, Math.min(10, Math.ceil(o.timeoutMs / 1000))),
    repository: repo.url,
  });
  const checkout = path.posix.join(o.stateDir, "config");
  const dir = fs.hostPath(checkout);

  const git = async (args: string[], what: string, timeoutMs = LOCAL_TIMEOUT_MS) => {
    const argv = args[0] === "clone" ? ["git", ...args] : ["git", "-C", dir, ...args];
    if (o.signal?.aborted) throw new RunError(`config repo ${shown}: the fetch was called off`);
    const res = await exec(argv, { env, timeoutMs, signal: o.signal }).catch((err: Error) => {
      throw err instanceof TimeoutError
        ? new RunError(`config repo ${shown}: ${what} did not finish within ${timeoutMs / 1000} s`, {
            cause: err,
          })
        : err;
    });
    if (res.code !== 0)
      throw new RunError(
        `config repo ${shown}: ${what} failed: ${redactUrl(gitCause(res.stderr) || `exit ${res.code}`)}`,
      );
    return res.stdout.trim();
  };

  const noSuchRef = () =>
    new RunError(`config repo ${shown} has no branch or tag "${repo.ref}"; check repo.ref`);
  const commitOf = async () => readHeadFromFiles(dir) ?? (await git(["rev-parse", "HEAD"], "git rev-parse"));
  // a plain branch or tag name is cloned; a commit id, a full ref name (refs/...) and a relative
  // url (resolved from the checkout, as git fetch there sees it) take init and fetch
  const named = !SHA.test(repo.ref) && !repo.ref.startsWith("refs/");
  const cloneable = named && !/^\.\.?\//.test(url);
  // a checkout without its origin (an init and remote add cut short, or origin removed by hand)
  // is not a checkout; a clone killed half way has its origin and is fetched into as any other
  const origin = pathExists(path.join(dir, ".git")) ? readOriginFromFiles(dir) : undefined;
  if (origin === undefined) {
    removePath(dir, true);
    // made before git fills it, closed to others (git would make it 0755, its files 0644)
    ensurePrivateDir(fs, checkout);
    if (cloneable) {
      const started = Date.now();
      try {
        await git(cloneArgv(url, dir, repo.ref, repo.depth).slice(1), `fetching ${repo.ref}`, o.timeoutMs);
      } catch (err) {
        removePath(dir, true);
        if (/Remote branch .* not found/.test((err as Error).message)) throw noSuchRef();
        throw err;
      }
      return { dir, commit: await commitOf(), transferMs: Date.now() - started };
    }
    const init = await exec(["git", "init", "-q", dir], { env, timeoutMs: LOCAL_TIMEOUT_MS });
    if (init.code !== 0) throw new RunError(`git init ${dir} failed: ${lastLine(init.stderr)}`);
    await git(["remote", "add", "origin", url], "git remote add");
  } else {
    ensurePrivateDir(fs, checkout);
    removeStaleGitLocks(path.join(dir, ".git"));
    // an origin with credentials (stored by an older muster) is rewritten without them
    if (origin !== url) await git(["remote", "set-url", "origin", url], "git remote set-url");
  }

  // a pinned commit the checkout is already at (a periodic re-converge) needs no network step
  const atPinned = SHA.test(repo.ref) && origin !== undefined && readHeadFromFiles(dir) === repo.ref;
  const depth = repo.depth > 0 ? [`--depth=${repo.depth}`] : [];
  // a name is a branch first, then a tag, as the clone (and the git resource) take it: a bare
  // `git fetch origin NAME` would prefer the tag when both exist
  const refspecs = named ? [`+refs/heads/${repo.ref}`, `+refs/tags/${repo.ref}`] : [repo.ref];
  const started = Date.now();
  try {
    for (const [i, refspec] of atPinned ? [] : refspecs.entries()) {
      try {
        await git(
          ["fetch", "-q", "--no-tags", ...depth, "origin", refspec],
          `fetching ${repo.ref}`,
          o.timeoutMs,
        );
        break;
      } catch (err) {
        if (i === refspecs.length - 1 || !/couldn't find remote ref/.test((err as Error).message)) throw err;
      }
    }
  } catch (err) {
    const msg = (err as Error).message;
    if (SHA.test(repo.ref) && !/did not finish/.test(msg)) {
      // a server may refuse a commit id that is not a branch tip: fetch the branches instead
      await git(
        ["fetch", "-q", "--no-tags", "origin", "+refs/heads/*:refs/remotes/origin/*"],
        "fetching all branches",
        o.timeoutMs,
      );
    } else if (/couldn't find remote ref/.test(msg)) {
      throw noSuchRef();
    } else throw err;
  }
  const transferMs = Date.now() - started;
  const target = SHA.test(repo.ref) ? repo.ref : "FETCH_HEAD";
  try {
    await git(["checkout", "-q", "-f", "--detach", target], `checking out ${repo.ref}`);
    await git(["clean", "-ffdq", "-e", "node_modules"], "git clean");
    return { dir, commit: await commitOf(), transferMs };
  } catch (err) {
    // a checkout that cannot be checked out is damaged: the next attempt starts from scratch
    removePath(dir, true);
    throw err;
  }
}
