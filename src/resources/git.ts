/**
 * git: a working tree at `destination` on `revision` (branch, tag or commit) of `repository`.
 * sync keeps it there; checkout only clones when missing. Shallow (depth 1) for branches and
 * tags by default. Never interactive: a missing key or a password prompt fails in seconds.
 */
import { z } from "zod";
import { RunError } from "../core/errors.ts";
import { defineResource, type ResourceContext } from "../core/resource.ts";
import { absolutePath, ownerSchema } from "../core/schema-parts.ts";
import { execOk } from "../host/exec.ts";
import { gitEnv, redactUrl } from "./git-env.ts";
import { readHeadFromFiles, readOriginFromFiles } from "./git-local.ts";

const schema = z.strictObject({
  destination: absolutePath,
  repository: z.string().min(1),
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
});
export type GitProps = z.infer<typeof schema>;

export interface GitState {
  /** HEAD of the working tree, or undefined when there is none */
  head?: string;
  origin?: string;
  /** the commit `revision` names on the remote now */
  target: string;
  /** branch name when the revision is a branch (checked out as a local branch of that name) */
  branch?: string;
}

const SHA = /^[0-9a-f]{40}$/;

export const git = defineResource<GitProps, GitState>({
  kind: "git",
  nameProp: "destination",
  pathName: true,
  schema,
  actions: ["sync", "checkout"],
  defaultAction: "sync",
  id: (p) => `git[${p.destination}]`,

  async read(ctx, p) {
    const dest = ctx.fs.hostPath(p.destination);
    const head = await localHead(ctx, dest);
    const origin = head
      ? (readOriginFromFiles(dest) ??
        (await run(ctx, p, ["git", "-C", dest, "config", "--get", "remote.origin.url"], true)))
      : undefined;
    if (head && p.action === "checkout") return { head, origin, target: head };
    const { target, branch } = await resolveRevision(ctx, p);
    return { head, origin: origin?.trim(), target, branch };
  },

  diff(p, cur) {
    const rev = p.revision ?? "master";
    if (!cur.head) return [{ what: `clone ${redactUrl(p.repository)} at ${rev} (${short(cur.target)})` }];
    const changes = [];
    if (cur.origin !== undefined && cur.origin !== p.repository && p.action !== "checkout")
      changes.push({ what: `set origin to ${redactUrl(p.repository)} (was ${redactUrl(cur.origin)})` });
    if (cur.head !== cur.target)
      changes.push({ what: `${short(cur.head)} -> ${short(cur.target)} (${rev})` });
    return changes;
  },

  async apply(ctx, p, _changes, cur) {
    const dest = ctx.fs.hostPath(p.destination);
    const rev = p.revision ?? "master";
    if (!cur.head) {
      ctx.fs.remove(p.destination, true); // a half-made checkout from a crash is not a checkout
      await run(ctx, p, ["git", "init", "-q", dest]);
      await run(ctx, p, ["git", "-C", dest, "remote", "add", "origin", p.repository]);
      ctx.log.progress(`git: cloning ${redactUrl(p.repository)} at ${rev}`);
    } else if (cur.origin !== p.repository) {
      await run(ctx, p, ["git", "-C", dest, "remote", "set-url", "origin", p.repository]);
    }
    const depth = p.depth ?? (SHA.test(rev) ? 0 : 1);
    const depthArgs = depth > 0 ? [`--depth=${depth}`] : [];
    const refspec = cur.branch
      ? `+refs/heads/${cur.branch}`
      : SHA.test(rev)
        ? cur.target
        : `+refs/tags/${rev}`;
    try {
      await run(ctx, p, ["git", "-C", dest, "fetch", "-q", "--no-tags", ...depthArgs, "origin", refspec]);
    } catch (err) {
      // a server may refuse a commit id that is not a branch tip: fetch everything instead
      if (!SHA.test(rev)) throw err;
      await run(ctx, p, ["git", "-C", dest, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*"]);
    }
    const checkout = cur.branch ? ["-B", cur.branch, cur.target] : ["--detach", cur.target];
    await run(ctx, p, ["git", "-C", dest, "checkout", "-q", "-f", ...checkout]);
    await run(ctx, p, ["git", "-C", dest, "reset", "-q", "--hard", cur.target]);
    ctx.shared.set(`git:${p.destination}`, cur.target);
  },
});

async function localHead(ctx: ResourceContext, dest: string): Promise<string | undefined> {
  const st = ctx.fs.stat(`${ctx.fs.inside(dest)}/.git`);
  if (!st) return undefined;
  const fromFiles = readHeadFromFiles(dest);
  if (fromFiles) return fromFiles;
  const res = await ctx.exec(["git", "-C", dest, "rev-parse", "--verify", "-q", "HEAD"], {
    env: gitEnv(ctx.env),
  });
  return res.code === 0 ? res.stdout.trim() : undefined;
}

async function resolveRevision(
  ctx: ResourceContext,
  p: GitProps,
): Promise<{ target: string; branch?: string }> {
  const rev = p.revision ?? "master";
  if (SHA.test(rev)) return { target: rev };
  const out = await run(ctx, p, [
    "git",
    "ls-remote",
    p.repository,
    `refs/heads/${rev}`,
    `refs/tags/${rev}`,
    `refs/tags/${rev}^{}`,
  ]);
  const refs = new Map<string, string>();
  for (const line of out.split("\n")) {
    const [sha, ref] = line.split("\t");
    if (sha && ref) refs.set(ref, sha);
  }
  const head = refs.get(`refs/heads/${rev}`);
  if (head) return { target: head, branch: rev };
  const tag = refs.get(`refs/tags/${rev}^{}`) ?? refs.get(`refs/tags/${rev}`);
  if (tag) return { target: tag };
  throw new RunError(`revision "${rev}" is not a branch or tag of ${redactUrl(p.repository)}`);
}

async function run(ctx: ResourceContext, p: GitProps, argv: string[], allowFail = false): Promise<string> {
  const opts = {
    env: gitEnv(ctx.env, { sshKey: p.sshKey }),
    timeoutMs: (p.timeout ?? 120) * 1000,
    uid: p.user === undefined ? undefined : ctx.ids.uid(p.user),
    gid: p.group === undefined ? undefined : ctx.ids.gid(p.group),
  };
  if (allowFail) {
    const res = await ctx.exec(argv, opts);
    return res.code === 0 ? res.stdout : "";
  }
  try {
    return (await execOk(argv, opts)).stdout;
  } catch (err) {
    throw new RunError(redactUrl((err as Error).message));
  }
}

function short(sha: string): string {
  return sha.slice(0, 7);
}
