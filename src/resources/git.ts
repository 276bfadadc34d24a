/**
 * git: a working tree at `destination` on `revision` (branch, tag or commit) of `repository`.
 * sync keeps it there; checkout only clones when missing. Shallow (depth 1) for branches and
 * tags by default. Never interactive: a missing key or a password prompt fails in seconds.
 *
 * Every git process costs tens of milliseconds, more than the rest of a boot's converge of a
 * small app, so each path runs as few as it can: a fresh branch or tag checkout is ls-remote
 * (in read) and one `git clone`; a checkout that moved is ls-remote, fetch and checkout.
 *
 * The read that verifies an apply compares HEAD with the commit the apply checked out, without
 * asking the remote again: a push that lands while a server boots must not fail its converge
 * (the next run takes it), and over the internet one more ls-remote is one more connection and
 * TLS handshake in the time to service. The commit checked out is what the clone or fetch
 * brought, so a branch that moved after ls-remote is followed to its newer tip, not failed.
 */
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { RunError, TimeoutError } from "../core/errors.ts";
import { type Change, defineResource, type ResourceContext } from "../core/resource.ts";
import { absolutePath, ownerSchema } from "../core/schema-parts.ts";
import { z } from "../core/zod.ts";
import { type ExecOptions, lastLine } from "../host/exec.ts";
import { pathExists } from "../host/host-files.ts";
import type { FileStat } from "../host/root-fs.ts";
import { cloneArgv } from "./git-clone.ts";
import { splitCredentials, storedUrl } from "./git-credentials.ts";
import { gitEnv, redactUrl } from "./git-env.ts";
import { readHeadFromFiles, readOriginFromFiles } from "./git-local.ts";
import { ancestorsOf } from "./ownership.ts";
import { runAs } from "./run-as.ts";

const schema = z
  .strictObject({
    destination: absolutePath,
    repository: z.string().min(1).refine(isRepositoryAddress, {
      message:
        "give a URL (https://, ssh://, file://), an scp-like address (git@host:path) or an absolute path; a relative path has no fixed meaning on a server",
    }),
    revision: z.string().min(1).optional(),
    /** 0 = full history; default 1 for branches and tags */
    depth: z.number().int().min(0).optional(),
    /** a private key for ssh repositories (a host path, mode 0600) */
    sshKey: z.string().optional(),
    user: ownerSchema.optional(),
    group: ownerSchema.optional(),
    /** seconds for each network step */
    timeout: z.number().positive().optional(),
    action: z.enum(["sync", "checkout"]).optional(),
  })
  // the credentials reach git through its environment, and a process run as `user` is that
  // user's: its /proc/PID/environ is readable by it, so the token would be theirs too
  .refine((p) => p.user === undefined || splitCredentials(p.repository).authorization === undefined, {
    message:
      "a repository URL with credentials and a user: that user could read them from its git's environment; give the user a deploy key of its own (sshKey), or leave user out",
    path: ["repository"],
  });
export type GitProps = z.infer<typeof schema>;

export interface GitState {
  /** HEAD of the working tree, or undefined when there is none */
  head?: string;
  /** remote.origin.url of the working tree: "" when it has no origin remote */
  origin?: string;
  /** the commit `revision` names on the remote now */
  target: string;
  /** branch name when the revision is a branch (checked out as a local branch of that name) */
  branch?: string;
  /** a dry run whose remote did not answer: why (target is then unknown, "") */
  unreached?: string;
}

/**
 * What one run's git steps hand each other, per checkout (see checkoutKey): the remote's answer
 * prefetch asked for, taken once by the first read; the commit apply checked out, which the read
 * verifying that apply compares HEAD with (see the top of the file).
 */
export interface GitRunStore {
  prefetched: Map<string, Promise<ResolvedRevision>>;
  checkedOut: Map<string, string>;
  /** new checkouts being cloned aside (see stageClone): the clone's path inside the root */
  staged: Map<string, Promise<string>>;
  /** STAGING was emptied for this run */
  stagingReady: boolean;
  /** destinations a rename from STAGING could not reach (another filesystem after all) */
  crossDevice: Set<string>;
}

/**
 * Where new checkouts are cloned while the resources before them run: muster's own directory in
 * the root (the converge lock beside it is held for the whole run, so no other run uses it).
 */
export const STAGING = "/var/lib/muster/git-staging";

interface ResolvedRevision {
  target: string;
  branch?: string;
}

const SHA = /^[0-9a-f]{40}$/;

/** The remote answered, and has no such branch or tag: wrong in a dry run too. */
class RevisionNotFound extends RunError {}

export const git = defineResource<GitProps, GitState, GitRunStore>({
  kind: "git",
  nameProp: "destination",
  pathName: true,
  schema,
  actions: ["sync", "checkout"],
  defaultAction: "sync",
  id: (p) => `git[${p.destination}]`,
  runStore: () => ({
    prefetched: new Map(),
    checkedOut: new Map(),
    staged: new Map(),
    stagingReady: false,
    crossDevice: new Set(),
  }),
  // the application's revision is what a git resource converges to, changed or not; after an
  // apply, read's target is the commit it checked out
  revisionOf: (cur) => cur.target,

  // the remote's answer for the branch or tag (one ls-remote) is asked for when the run starts,
  // so it overlaps with the resources declared before this one; the first read takes it
  prefetch(ctx, p, signal, store) {
    const rev = p.revision ?? "master";
    if (SHA.test(rev) || store.prefetched.has(checkoutKey(p))) return;
    // a user or group made earlier in this run does not exist yet: its read asks then
    try {
      if (p.user !== undefined) ctx.ids.uid(p.user);
      if (p.group !== undefined) ctx.ids.gid(p.group);
    } catch {
      return;
    }
    const answer = resolveRevision(ctx, p, signal);
    answer.catch(() => {}); // the read that takes it reports the failure
    store.prefetched.set(checkoutKey(p), answer);
    const staged = stageClone(ctx, p, signal, store);
    return Promise.allSettled([answer, staged]).then(() => {});
  },

  async read(ctx, p, store) {
    // read in the checkout muster resolved, held (see inHeldDir): by a path resolved again, a
    // checkout swapped for a link meanwhile would have another repository's HEAD and origin
    // (and their URLs) reported as this one's
    const { head, origin } =
      ctx.fs.stat(p.destination)?.type === "directory"
        ? await inHeldDir(ctx, p.destination, async (at) => {
            const head = await localHead(ctx, at);
            if (!head) return { head };
            const fromFiles = readOriginFromFiles(heldPath(at));
            const origin =
              fromFiles ??
              (await run(ctx, p, ["git", "config", "--get", "remote.origin.url"], true, undefined, at));
            return { head, origin: origin.trim() };
          })
        : { head: undefined, origin: undefined };
    if (!head) refuseOccupied(ctx, p.destination);
    if (head && p.action === "checkout") return { head, origin, target: head };
    // after this run's apply: the commit it checked out is the target (see the top of the file)
    const applied = store.checkedOut.get(checkoutKey(p));
    if (applied) return { head, origin, target: applied };
    const prefetched = store.prefetched.get(checkoutKey(p));
    store.prefetched.delete(checkoutKey(p)); // once: a later run of this resource asks the remote again
    try {
      const { target, branch } = await (prefetched ?? resolveRevision(ctx, p));
      return { head, origin, target, branch };
    } catch (err) {
      // a dry run says what a run would do, as far as it can see: a remote it cannot reach (the
      // example's placeholder host, a network not up yet) is a note on the clone or fetch, not
      // a failure; a remote that answered without the revision is still one
      if (!ctx.dryRun || err instanceof RevisionNotFound || !(err instanceof RunError)) throw err;
      return { head, origin, target: "", unreached: err.message };
    }
  },

  diff(p, cur) {
    const rev = p.revision ?? "master";
    const unreached = cur.unreached ? ` (the remote was not reached: ${cur.unreached})` : "";
    if (!cur.head)
      return [
        {
          key: "clone",
          what: `clone ${redactUrl(p.repository)} at ${rev}${unreached || ` (${short(cur.target)})`}`,
        },
      ];
    const changes: Change[] = [];
    if (cur.origin === "" && p.action !== "checkout")
      changes.push({
        key: "origin",
        what: `add origin ${redactUrl(storedUrl(p.repository))} (there was none)`,
      });
    // origin is stored without credentials: one with them (an older muster's) is rewritten
    else if (cur.origin !== undefined && cur.origin !== storedUrl(p.repository) && p.action !== "checkout")
      changes.push({
        key: "origin",
        what: `set origin to ${redactUrl(storedUrl(p.repository))} (was ${redactUrl(cur.origin)})`,
      });
    if (cur.unreached)
      changes.push({ key: "revision", what: `fetch ${rev} and check it out if it moved${unreached}` });
    else if (cur.head !== cur.target)
      changes.push({ key: "revision", what: `move ${short(cur.head)} -> ${short(cur.target)} (${rev})` });
    return changes;
  },

  // a clone makes the directories leading to its destination, as git clone does
  dryRunPaths: (p, changes) =>
    changes.some((c) => c.key === "clone")
      ? { makes: [p.destination, ...ancestorsOf(p.destination)] }
      : { makes: [] },

  async apply(ctx, p, _changes, cur, store) {
    const rev = p.revision ?? "master";
    const depth = p.depth ?? (SHA.test(rev) ? 0 : 1);
    if (!cur.head) {
      // cloned beside the destination and renamed into place, so a clone a crash or a timeout
      // cut short is never left where a checkout belongs (read refuses anything there but an
      // empty directory, which is replaced)
      ctx.log.progress(`git: cloning ${redactUrl(p.repository)} at ${rev}`);
      if (await placeStaged(ctx, p, store)) {
        const head = await headAfterApply(ctx, p.destination);
        if (!head) throw new RunError(`no HEAD in ${p.destination} after checking out ${rev}`);
        noteCheckedOut(ctx, p, cur, store, head);
        return;
      }
      const tmpPath = cloneScratch(ctx, p, store);
      const tmp = ctx.fs.hostPath(tmpPath);
      try {
        if (SHA.test(rev)) {
          // a commit id cannot be cloned by name: fetch exactly that commit into a new repository
          await run(ctx, p, ["git", "init", "-q", tmp]);
          await inHeldDir(ctx, tmpPath, async (at) => {
            await run(
              ctx,
              p,
              ["git", "remote", "add", "origin", storedUrl(p.repository)],
              false,
              undefined,
              at,
            );
            await fetchAndCheckout(ctx, p, at, cur, depth);
          });
        } else {
          await run(ctx, p, cloneArgv(p.repository, tmp, rev, depth));
        }
        if (ctx.fs.lstat(p.destination))
          ctx.fs.rmdir(p.destination); // empty: read saw to it
        else if (!ctx.fs.stat(parentOf(p.destination))) ctx.fs.mkdir(parentOf(p.destination), 0o755, true);
        ctx.fs.rename(tmpPath, p.destination);
      } catch (err) {
        ctx.fs.remove(tmpPath, true);
        throw err;
      }
    } else {
      // no url: no origin at all, or a [remote "origin"] whose url was unset (remote add would
      // fail on the section); fetches name their refspecs, so the url is all origin needs
      // git starts in the checkout muster resolved, held (see inHeldDir), not at a path it
      // resolves again: swapped for a link meanwhile, it would fetch and check out elsewhere
      await inHeldDir(ctx, p.destination, async (at) => {
        const url = storedUrl(p.repository);
        if (cur.origin === "")
          await run(ctx, p, ["git", "config", "remote.origin.url", url], false, undefined, at);
        else if (cur.origin !== url)
          await run(ctx, p, ["git", "remote", "set-url", "origin", url], false, undefined, at);
        await fetchAndCheckout(ctx, p, at, cur, depth);
      });
    }
    const head = await headAfterApply(ctx, p.destination);
    if (!head) throw new RunError(`no HEAD in ${p.destination} after checking out ${rev}`);
    noteCheckedOut(ctx, p, cur, store, head);
  },
});

/**
 * What is checked out now, for the read that verifies the apply: a clone or fetch takes the
 * branch or tag as the remote has it at that moment, which may be newer than what read saw.
 */
function noteCheckedOut(
  ctx: ResourceContext,
  p: GitProps,
  cur: GitState,
  store: GitRunStore,
  head: string,
): void {
  if (head !== cur.target)
    ctx.log.info(
      `git: ${p.revision ?? "master"} of ${redactUrl(p.repository)} moved after ls-remote; checked out ${short(head)} (not ${short(cur.target)})`,
    );
  store.checkedOut.set(checkoutKey(p), head);
}

/**
 * A new checkout of a branch or tag (nothing at the destination as the run starts) is cloned at
 * once into STAGING, while the resources declared before it run (an app's clone is often the
 * longest step of a first boot); apply renames it into place. Not in a dry run, nor for a
 * checkout owned by another user (the clone runs as that user, who cannot write STAGING). The
 * promise settles when the run is over and an unused clone is removed.
 */
function stageClone(
  ctx: ResourceContext,
  p: GitProps,
  signal: AbortSignal,
  store: GitRunStore,
): Promise<void> | undefined {
  if (ctx.dryRun || p.user !== undefined || p.group !== undefined) return undefined;
  const key = checkoutKey(p);
  if (store.staged.has(key)) return undefined;
  let dir: string;
  try {
    if (ctx.fs.lstat(p.destination) !== undefined) return undefined; // fetched in place, or refused
    readyStaging(ctx, store);
    // a destination on another filesystem (a volume of its own for /srv) could not take it by a
    // rename, and the clone would fill the root's volume meanwhile: cloned in place instead
    if (nearestExisting(ctx, p.destination)?.dev !== ctx.fs.stat(STAGING)?.dev) return undefined;
    dir = `${STAGING}/${store.staged.size + 1}`;
  } catch {
    return undefined; // apply clones in place, and says what is wrong there
  }
  const rev = p.revision ?? "master";
  const clone = run(
    ctx,
    p,
    cloneArgv(p.repository, ctx.fs.hostPath(dir), rev, p.depth ?? 1),
    false,
    signal,
  ).then(() => dir);
  clone.catch(() => {}); // apply takes the failure
  store.staged.set(key, clone);
  const runOver = new Promise<void>((r) =>
    signal.aborted ? r() : signal.addEventListener("abort", () => r(), { once: true }),
  );
  return Promise.allSettled([clone, runOver]).then(() => {
    try {
      ctx.fs.remove(dir, true); // nothing there once apply has taken it
    } catch {}
  });
}

/** STAGING, emptied once per run (what a run that was killed left) and private to root. */
function readyStaging(ctx: ResourceContext, store: GitRunStore): void {
  if (store.stagingReady) return;
  ctx.fs.remove(STAGING, true);
  ctx.fs.mkdir(STAGING, 0o700, true);
  store.stagingReady = true;
}

/**
 * Where apply clones a new checkout before renaming it into place, when stageClone did not: a
 * new name in STAGING, where no other user can plant a link for a clone run as root to follow.
 * Beside the destination only when it must be: a checkout owned by another user (the clone runs
 * as that user, who cannot write STAGING) gets an unpredictable name there; a destination on
 * another filesystem than STAGING (no rename across) is cloned beside it only when its parent
 * is root's alone, since a link planted there by another user would send root's clone anywhere.
 */
function cloneScratch(ctx: ResourceContext, p: GitProps, store: GitRunStore): string {
  const scratch = `muster-clone-${randomBytes(8).toString("hex")}`;
  const beside = `${parentOf(p.destination)}/.${p.destination.split("/").filter(Boolean).at(-1)}.${scratch}`;
  if (p.user !== undefined || p.group !== undefined) return beside;
  readyStaging(ctx, store);
  const sameDevice = nearestExisting(ctx, p.destination)?.dev === ctx.fs.stat(STAGING)?.dev;
  if (sameDevice && !store.crossDevice.has(p.destination)) return `${STAGING}/${scratch}`;
  const parent = nearestExisting(ctx, parentOf(p.destination));
  const trusted = parent && (parent.uid === 0 || parent.uid === process.geteuid?.());
  if (parent && (!trusted || (parent.mode & 0o022) !== 0))
    throw new RunError(
      `${p.destination}: its directory can be written by a user other than root, and it is on another filesystem than ${STAGING}, so the clone would be made there as root, where a planted link could redirect it; give the directory to root alone (mode 0755), or give the checkout a user:`,
    );
  return beside;
}

const parentOf = (p: string) => p.replace(/\/+[^/]+\/*$/, "") || "/";

/** The stat of `p` or of the nearest directory above it that exists. */
function nearestExisting(ctx: ResourceContext, p: string): FileStat | undefined {
  for (let at = p; ; at = parentOf(at)) {
    const st = ctx.fs.stat(at);
    if (st || at === "/") return st;
  }
}

/**
 * Put the clone stageClone made at the destination: true when it is there now. False when there
 * is none, or it failed (apply clones in place then and reports its own failure), or it is on
 * another filesystem than the destination; a clone that timed out is not tried again.
 */
async function placeStaged(ctx: ResourceContext, p: GitProps, store: GitRunStore): Promise<boolean> {
  const staged = store.staged.get(checkoutKey(p));
  store.staged.delete(checkoutKey(p));
  if (!staged) return false;
  let dir: string;
  try {
    dir = await staged;
  } catch (err) {
    if (err instanceof TimeoutError) throw err;
    return false;
  }
  try {
    if (ctx.fs.lstat(p.destination))
      ctx.fs.rmdir(p.destination); // empty: read saw to it
    // as `git clone` makes the directories leading to its destination: only those missing (an
    // existing parent keeps its mode: a 0700 home, a sticky /tmp)
    else if (!ctx.fs.stat(parentOf(p.destination))) ctx.fs.mkdir(parentOf(p.destination), 0o755, true);
    ctx.fs.rename(dir, p.destination);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    store.crossDevice.add(p.destination);
    return false;
  }
}

/**
 * PURE: the cause in git's stderr. Its last line is often advice ("and the repository exists."),
 * the cause a line before: ssh's "connect to host ... Connection refused", or git's "fatal:" line
 * (dubious ownership, no such ref). The lines that say what happened, joined; else the last line.
 */
export function gitCause(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const own = lines.filter((l) => !GIT_ADVICE.test(l));
  const said = own.filter((l) =>
    /^(fatal|error|ssh|remote):|Permission denied|Connection refused|Could not resolve host|Host key verification failed|Connection timed out/i.test(
      l,
    ),
  );
  // what ssh (or a proxy command) said in words of its own comes before git's closing advice
  return (said.length > 0 ? said.slice(0, 2).join("; ") : (own.at(-1) ?? lines[0])) ?? "";
}

/** git's own words after any failure to reach a remote: they never say what went wrong */
const GIT_ADVICE =
  /^(fatal: Could not read from remote repository\.?|Please make sure you have the correct access rights|and the repository exists\.?)$/;

/**
 * A destination that is not a checkout must be missing or an empty directory: anything else is
 * someone's files (a repository whose HEAD cannot be read included: no commit yet, another
 * user's), which a clone would have to remove; muster's own clones are made beside it and renamed
 * into place, so none is ever left half-made there. Refused in read, so a dry run predicts it; git clone itself refuses a non-empty
 * directory, as Chef's and Ansible's git do.
 */
function refuseOccupied(ctx: ResourceContext, destination: string): void {
  const st = ctx.fs.lstat(destination);
  if (!st) return;
  if (st.type !== "directory")
    throw new RunError(`${destination} is a ${st.type}, not a checkout; move it away`);
  const entries = ctx.fs.readDir(destination);
  if (entries.length === 0) return;
  if (entries.includes(".git"))
    throw new RunError(
      `${destination} holds a git repository whose HEAD cannot be read (no commit yet, another user's, or damaged); muster will not remove it: move it away`,
    );
  const shown = entries.slice(0, 3).join(", ") + (entries.length > 3 ? `, ... (${entries.length})` : "");
  throw new RunError(
    `${destination} holds files and is not a git checkout (${shown}); move them away or choose another destination`,
  );
}

/**
 * A branch or tag fetched into an existing repository and what the fetch brought checked out
 * (FETCH_HEAD: the remote's tip at that moment, never older than `cur.target`; with depth 1 an
 * older target would not even be there); a commit id fetched and checked out as it is.
 */
async function fetchAndCheckout(
  ctx: ResourceContext,
  p: GitProps,
  at: HeldDir,
  cur: GitState,
  depth: number,
): Promise<void> {
  const rev = p.revision ?? "master";
  const depthArgs = depth > 0 ? [`--depth=${depth}`] : [];
  const refspec = cur.branch ? `+refs/heads/${cur.branch}` : SHA.test(rev) ? cur.target : `+refs/tags/${rev}`;
  try {
    await run(
      ctx,
      p,
      ["git", "fetch", "-q", "--no-tags", ...depthArgs, "origin", refspec],
      false,
      undefined,
      at,
    );
  } catch (err) {
    // a server may refuse a commit id that is not a branch tip: fetch everything instead
    if (!SHA.test(rev)) throw err;
    await run(
      ctx,
      p,
      ["git", "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*"],
      false,
      undefined,
      at,
    );
  }
  // -f resets index and working tree to the target (git's own reset_tree, as reset --hard):
  // local changes to tracked files, staged files and a half-done merge are thrown away, and
  // untracked files are left alone as reset --hard leaves them. So no reset --hard after it.
  const commit = SHA.test(rev) ? cur.target : "FETCH_HEAD";
  const checkout = cur.branch ? ["-B", cur.branch, commit] : ["--detach", commit];
  await run(ctx, p, ["git", "checkout", "-q", "-f", ...checkout], false, undefined, at);
}

/** A directory git starts in: held by descriptor (exec.ts's cwdFd), its host path for the record. */
interface HeldDir {
  host: string;
  fd: number;
}

/**
 * Runs `fn` with the directory `inRoot` resolves to held open (RootFs.openDir), for git commands
 * that change a repository: `git -C PATH` would resolve PATH again, and a directory on the way
 * that an app's user can write could have been swapped for a link to another repository root
 * owns (another app's checkout, muster's own config checkout) since muster checked it. git's
 * safe.directory check does not catch that: the repository it would land in is root's.
 */
async function inHeldDir<T>(
  ctx: ResourceContext,
  inRoot: string,
  fn: (at: HeldDir) => Promise<T>,
): Promise<T> {
  const dir = ctx.fs.openDir(inRoot);
  try {
    return await fn({ host: ctx.fs.hostPath(inRoot), fd: dir.fd });
  } finally {
    dir.close();
  }
}

/** The held directory as a path for muster's own reads: its descriptor's entry in /proc. */
function heldPath(at: HeldDir): string {
  return `/proc/self/fd/${at.fd}`;
}

/** The commit checked out in the held checkout `at`, or undefined where there is none. */
async function localHead(ctx: ResourceContext, at: HeldDir): Promise<string | undefined> {
  if (!pathExists(path.join(heldPath(at), ".git"))) return undefined;
  const fromFiles = readHeadFromFiles(heldPath(at));
  if (fromFiles) return fromFiles;
  const res = await ctx.exec(["git", "rev-parse", "--verify", "-q", "HEAD"], {
    env: gitEnv(ctx.env),
    cwd: at.host,
    cwdFd: at.fd,
  });
  return res.code === 0 ? res.stdout.trim() : undefined;
}

/** The commit checked out at `inRoot` once an apply is done with it. */
function headAfterApply(ctx: ResourceContext, inRoot: string): Promise<string | undefined> {
  return inHeldDir(ctx, inRoot, (at) => localHead(ctx, at));
}

/** one checkout: the same destination, repository and revision */
function checkoutKey(p: GitProps): string {
  return `${p.destination}\0${p.repository}\0${p.revision ?? "master"}`;
}

/** "https://…", "ssh://…", "file://…", "git@host:path", "host:path" or "/abs/path". Pure. */
export function isRepositoryAddress(repository: string): boolean {
  if (repository.startsWith("/")) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repository)) return true;
  // scp-like syntax: a colon before any slash (git's own rule for telling it from a path)
  const colon = repository.indexOf(":");
  const slash = repository.indexOf("/");
  return colon > 0 && (slash === -1 || colon < slash);
}

async function resolveRevision(
  ctx: ResourceContext,
  p: GitProps,
  signal?: AbortSignal,
): Promise<ResolvedRevision> {
  const rev = p.revision ?? "master";
  if (SHA.test(rev)) return { target: rev };
  const out = await run(
    ctx,
    p,
    [
      "git",
      "ls-remote",
      "--",
      storedUrl(p.repository),
      `refs/heads/${rev}`,
      `refs/tags/${rev}`,
      `refs/tags/${rev}^{}`,
    ],
    false,
    signal,
  );
  const refs = new Map<string, string>();
  for (const line of out.split("\n")) {
    const [sha, ref] = line.split("\t");
    if (sha && ref) refs.set(ref, sha);
  }
  const head = refs.get(`refs/heads/${rev}`);
  if (head) return { target: head, branch: rev };
  const tag = refs.get(`refs/tags/${rev}^{}`) ?? refs.get(`refs/tags/${rev}`);
  if (tag) return { target: tag };
  throw new RevisionNotFound(`revision "${rev}" is not a branch or tag of ${redactUrl(p.repository)}`);
}

async function run(
  ctx: ResourceContext,
  p: GitProps,
  argv: string[],
  allowFail = false,
  signal?: AbortSignal,
  at?: HeldDir,
): Promise<string> {
  const as = runAs(ctx, p.user, p.group);
  const opts: ExecOptions = {
    // never the directory muster was started from: git run as a user refuses to start where it
    // cannot stat its working directory (a checkout in root's home), and every path it is given
    // is absolute
    cwd: at?.host ?? "/",
    cwdFd: at?.fd,
    env: { ...gitEnv(ctx.env, { sshKey: p.sshKey, repository: p.repository }), ...as.env },
    timeoutMs: (p.timeout ?? 120) * 1000,
    signal,
    uid: as.uid,
    gid: as.gid,
  };
  if (allowFail) {
    const res = await ctx.exec(argv, opts);
    return res.code === 0 ? res.stdout : "";
  }
  const res = await ctx.exec(argv, opts).catch((err: Error) => {
    if (err instanceof TimeoutError)
      throw new TimeoutError(`${shown(argv)} did not finish within ${p.timeout ?? 120} s`);
    throw new RunError(redactUrl(err.message));
  });
  if (res.code !== 0)
    throw new RunError(
      `${shown(argv)} failed: ${redactUrl(gitCause(res.stderr) || lastLine(res.stdout) || `exit code ${res.code}`)}`,
    );
  return res.stdout;
}

/**
 * A command as an error shows it: credentials redacted BEFORE it is shortened, so a cut can
 * never leave half a token that the redaction no longer recognises.
 */
function shown(argv: string[]): string {
  const s = redactUrl(argv.join(" "));
  return `\`${s.length > 80 ? `${s.slice(0, 77)}...` : s}\``;
}

function short(sha: string): string {
  return sha.slice(0, 7);
}
