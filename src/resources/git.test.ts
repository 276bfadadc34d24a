import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import type { ResourceContext } from "../core/resource.ts";
import { bareRepoFrom, commitTo } from "../demo/example-repos.ts";
import { type Exec, execOk, exec as realExec } from "../host/exec.ts";
import { RootFs } from "../host/root-fs.ts";
import { annotatedTag } from "../test-support/git-tags.ts";
import { convergeDecls } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { git, gitCause, isRepositoryAddress, STAGING } from "./git.ts";
import { cloneArgv } from "./git-clone.ts";
import { redactUrl } from "./git-env.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);

describe("git.diff", () => {
  it("clones when there is no working tree", () => {
    expect(
      git.diff(
        { destination: "/srv/app", repository: "https://h/app.git" },
        { target: A, branch: "master" },
      )[0].what,
    ).toBe("clone https://h/app.git at master (aaaaaaa)");
  });
  it("reports old -> new commit", () => {
    const changes = git.diff(
      { destination: "/d", repository: "r" },
      { head: A, origin: "r", target: B, branch: "master" },
    );
    expect(changes.map((c) => c.what)).toEqual(["move aaaaaaa -> bbbbbbb (master)"]);
  });
  it("is up to date at the target", () => {
    expect(git.diff({ destination: "/d", repository: "r" }, { head: A, origin: "r", target: A })).toEqual([]);
  });
  it("moves the origin and never prints credentials", () => {
    const changes = git.diff(
      { destination: "/d", repository: "https://u:tok3n@h/new.git" },
      { head: A, origin: "https://h/old.git", target: A },
    );
    expect(changes[0].what).toBe("set origin to https://h/new.git (was https://h/old.git)");
  });
});

describe("redactUrl", () => {
  it("names the cause from git's stderr, not its closing advice", () => {
    expect(
      gitCause(
        "ssh: connect to host 127.0.0.1 port 1: Connection refused\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n",
      ),
    ).toBe("ssh: connect to host 127.0.0.1 port 1: Connection refused");
    expect(
      gitCause("fatal: detected dubious ownership in repository at '/srv/app'\nTo add an exception ...\n"),
    ).toBe("fatal: detected dubious ownership in repository at '/srv/app'");
    expect(
      gitCause(
        "git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n",
      ),
    ).toBe("git@github.com: Permission denied (publickey).");
    expect(gitCause("something odd\nlast words\n")).toBe("last words");
    // an ssh that says something in words no pattern knows: those words, not git's advice after them
    expect(
      gitCause(
        "kex_exchange_identification: read: Connection reset by peer\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n",
      ),
    ).toBe("kex_exchange_identification: read: Connection reset by peer");
    // nothing but the advice: its first line, which at least says the remote was not read
    expect(
      gitCause(
        "fatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n",
      ),
    ).toBe("fatal: Could not read from remote repository.");
  });

  it("hides user info in any URL in a string", () => {
    expect(redactUrl("fatal: could not read from https://x-token:ghp_abc@github.test/o/r.git")).toBe(
      "fatal: could not read from https://***@github.test/o/r.git",
    );
    expect(redactUrl("ssh://git@h/r.git")).toBe("ssh://git@h/r.git");
    expect(redactUrl("ssh://git:pw@h/r.git")).toBe("ssh://***@h/r.git");
    expect(redactUrl("https://ghp_token@h/r.git")).toBe("https://***@h/r.git");
    expect(redactUrl("/local/path.git")).toBe("/local/path.git");
  });
});

describe("cloneArgv", () => {
  it("asks for a shallow fetch, even from a local path, when depth > 0", () => {
    expect(cloneArgv("/srv/git/app.git", "/root/srv/app", "main", 1)).toEqual([
      "git",
      "clone",
      "-q",
      "--no-tags",
      "--depth=1",
      "--no-local",
      "--branch",
      "main",
      "--single-branch",
      "--",
      "/srv/git/app.git",
      "/root/srv/app",
    ]);
  });
  it("keeps git's local copy for full history", () => {
    const argv = cloneArgv("/srv/git/app.git", "/root/srv/app", "v1.2", 0);
    expect(argv.some((a) => a.startsWith("--depth") || a === "--no-local")).toBe(false);
    expect(argv.slice(-5)).toEqual(["v1.2", "--single-branch", "--", "/srv/git/app.git", "/root/srv/app"]);
  });
});

/** Against local bare repositories: what each path checks out, and how many git processes it runs. */
describe("git checkouts", () => {
  let bare: string;
  let root: string;
  /** git subcommands the resource ran (ls-remote, clone, ...), in order */
  let ran: string[];
  const counting: Exec = (argv, opts) => {
    if (argv[0] === "git") ran.push(argv[1] === "-C" ? argv[3] : argv[1]);
    return realExec(argv, opts);
  };
  const dest = () => path.join(root, "srv/app");
  const gitIn = async (...args: string[]) => (await execOk(["git", "-C", dest(), ...args])).stdout.trim();
  const converge = (
    props: Record<string, unknown> = {},
    ctx: Partial<ResourceContext> = {},
    dryRun = false,
  ) => {
    ran = [];
    return convergeDecls(
      root,
      [
        { kind: "directory", name: "/srv", props: {} },
        { kind: "git", name: "/srv/app", props: { repository: bare, ...props } },
      ],
      { dryRun, ctx: { exec: counting, ...ctx } },
    );
  };
  const commits: string[] = [];

  beforeEach(async () => {
    const src = tmpDir();
    writeFileSync(path.join(src, "a.txt"), "a1\n");
    writeFileSync(path.join(src, "b.txt"), "b1\n");
    writeFileSync(path.join(src, "c.txt"), "c1\n");
    bare = path.join(tmpDir(), "app.git");
    commits.length = 0;
    commits.push(await bareRepoFrom(src, bare, "first"));
    commits.push(await commitTo(bare, { "a.txt": "a2\n" }, "second"));
    commits.push(await commitTo(bare, { "a.txt": "a3\n" }, "third"));
    root = tmpDir();
  });
  afterAll(cleanupTmp);

  it("clones a branch shallow with ls-remote and one clone: HEAD at its tip, on a local branch of its name", async () => {
    const release = await commitTo(bare, { "b.txt": "release\n" }, "release work", "master");
    await execOk(["git", "--git-dir", bare, "branch", "release", release]);
    const tip = await commitTo(bare, { "c.txt": "c-release\n" }, "on release", "release");
    const report = await converge({ revision: "release" });
    expect(report.outcome, report.error).toBe("converged");
    expect(ran).toEqual(["ls-remote", "clone"]); // the verifying read compares with what the clone took
    expect(await gitIn("rev-parse", "HEAD")).toBe(tip);
    expect(await gitIn("symbolic-ref", "--short", "HEAD")).toBe("release");
    expect(await gitIn("rev-parse", "--is-shallow-repository")).toBe("true");
    expect(await gitIn("rev-list", "--count", "HEAD")).toBe("1");
    expect(await gitIn("status", "--porcelain")).toBe("");
    expect(readFileSync(path.join(dest(), "c.txt"), "utf8")).toBe("c-release\n");
    expect(await gitIn("config", "--get", "remote.origin.url")).toBe(bare);
    expect(report.appRevision).toBe(tip);
    const again = await converge({ revision: "release" });
    expect(again.resources.map((r) => r.status)).toEqual(["up-to-date", "up-to-date"]);
  });

  it("clones a tag detached at the commit it names (annotated or not)", async () => {
    await annotatedTag(bare, "v1", commits[0], "v1");
    await execOk(["git", "--git-dir", bare, "tag", "light", commits[1]]);
    for (const [tag, commit, a] of [
      ["v1", commits[0], "a1\n"],
      ["light", commits[1], "a2\n"],
    ]) {
      root = tmpDir();
      const report = await converge({ revision: tag });
      expect(report.outcome, report.error).toBe("converged");
      expect(ran).toEqual(["ls-remote", "clone"]);
      expect(await gitIn("rev-parse", "HEAD")).toBe(commit);
      expect(readFileSync(path.join(dest(), ".git/HEAD"), "utf8").trim()).toBe(commit); // detached
      expect(await gitIn("rev-parse", "--is-shallow-repository")).toBe("true");
      expect(readFileSync(path.join(dest(), "a.txt"), "utf8")).toBe(a);
    }
  });

  it("checks out a commit id detached, with full history by default", async () => {
    const report = await converge({ revision: commits[1] });
    expect(report.outcome, report.error).toBe("converged");
    expect(ran).toEqual(["init", "remote", "fetch", "checkout"]); // no ls-remote: the id is the target
    expect(await gitIn("rev-parse", "HEAD")).toBe(commits[1]);
    expect(readFileSync(path.join(dest(), ".git/HEAD"), "utf8").trim()).toBe(commits[1]);
    expect(await gitIn("rev-parse", "--is-shallow-repository")).toBe("false");
    expect(await gitIn("rev-list", "--count", "HEAD")).toBe("2");
    expect(readFileSync(path.join(dest(), "a.txt"), "utf8")).toBe("a2\n");
    expect(report.appRevision).toBe(commits[1]);
  });

  it("records what the clone checked out when the branch moves after ls-remote", async () => {
    let moved: string | undefined;
    const racing: Exec = async (argv, opts) => {
      if (argv[1] === "clone") moved = await commitTo(bare, { "c.txt": "c2\n" }, "pushed meanwhile");
      return counting(argv, opts);
    };
    const report = await converge({}, { exec: racing });
    expect(report.outcome, report.error).toBe("converged");
    expect(ran).toEqual(["ls-remote", "clone"]);
    expect(moved).toMatch(/^[0-9a-f]{40}$/);
    expect(await gitIn("rev-parse", "HEAD")).toBe(moved);
    expect(report.appRevision).toBe(moved);
  });

  it("depth 0 clones the whole history; depth N exactly N commits, from a local path too", async () => {
    const full = await converge({ depth: 0 });
    expect(full.outcome, full.error).toBe("converged");
    expect(await gitIn("rev-parse", "--is-shallow-repository")).toBe("false");
    expect(await gitIn("rev-list", "--count", "HEAD")).toBe("3");
    expect(await gitIn("rev-parse", "HEAD")).toBe(commits[2]);

    root = tmpDir();
    const two = await converge({ depth: 2 });
    expect(two.outcome, two.error).toBe("converged");
    expect(await gitIn("rev-parse", "--is-shallow-repository")).toBe("true");
    expect(await gitIn("rev-list", "--count", "HEAD")).toBe("2");
  });

  it("follows a branch that moved: ls-remote, fetch and checkout, no reset", async () => {
    expect((await converge()).outcome).toBe("converged");
    const next = await commitTo(bare, { "b.txt": "b2\n" }, "fourth");
    const report = await converge({});
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources[1].changes.map((c) => c.what)).toEqual([
      `move ${commits[2].slice(0, 7)} -> ${next.slice(0, 7)} (master)`,
    ]);
    expect(ran).toEqual(["ls-remote", "fetch", "checkout"]);
    expect(await gitIn("rev-parse", "HEAD")).toBe(next);
    expect(await gitIn("symbolic-ref", "--short", "HEAD")).toBe("master");
    expect(readFileSync(path.join(dest(), "b.txt"), "utf8")).toBe("b2\n");
    expect(report.appRevision).toBe(next);
  });

  it("attack: the checkout swapped for a link to another root-owned repository between muster's check and git's start: git fetches and checks out where muster checked", async () => {
    expect((await converge()).outcome).toBe("converged");
    const next = await commitTo(bare, { "b.txt": "b2\n" }, "fourth");
    // stands for another checkout root owns (another app's, muster's own config checkout)
    const other = path.join(tmpDir(), "other");
    await execOk(["git", "clone", "-q", "--", bare, other]);
    await execOk(["git", "-C", other, "remote", "set-url", "origin", "/elsewhere.git"]);
    const otherHead = (await execOk(["git", "-C", other, "rev-parse", "HEAD"])).stdout.trim();
    // the app's user (who can write /srv) moves the checkout away and links it to the other
    // repository, as git is about to start: after muster resolved the destination
    let swapped = false;
    const swapping: Exec = (argv, opts) => {
      if (!swapped && argv[0] === "git" && !argv.includes("ls-remote")) {
        swapped = true;
        renameSync(dest(), path.join(root, "srv/moved"));
        symlinkSync(other, dest());
      }
      return counting(argv, opts);
    };
    await converge({}, { exec: swapping });
    expect(swapped).toBe(true);
    expect((await execOk(["git", "-C", other, "rev-parse", "HEAD"])).stdout.trim()).toBe(otherHead);
    expect((await execOk(["git", "-C", other, "config", "remote.origin.url"])).stdout.trim()).toBe(
      "/elsewhere.git",
    );
    const moved = (...args: string[]) => execOk(["git", "-C", path.join(root, "srv/moved"), ...args]);
    expect((await moved("rev-parse", "HEAD")).stdout.trim()).toBe(next);
  });

  it("attack: the checkout swapped for a link to another repository while read asks git for its origin: read reports this checkout's, not the other's", async () => {
    expect((await converge()).outcome).toBe("converged");
    // no url in .git/config: read cannot take the origin from the file and asks git
    await gitIn("config", "--unset", "remote.origin.url");
    const other = path.join(tmpDir(), "other");
    await execOk(["git", "clone", "-q", "--", bare, other]);
    await execOk(["git", "-C", other, "remote", "set-url", "origin", "/elsewhere.git"]);
    let swapped = false;
    const swapping: Exec = (argv, opts) => {
      if (!swapped && argv[0] === "git" && argv.includes("--get")) {
        swapped = true;
        renameSync(dest(), path.join(root, "srv/moved"));
        symlinkSync(other, dest());
      }
      return counting(argv, opts);
    };
    const report = await converge({}, { exec: swapping }, true);
    expect(swapped).toBe(true);
    expect(report.resources[1].changes.map((c) => c.what)).toEqual([`add origin ${bare} (there was none)`]);
  });

  it("attack: a FIFO put in place of the checkout's .git/HEAD (or config) fails the resource at once instead of hanging the run", async () => {
    expect((await converge()).outcome).toBe("converged");
    for (const name of ["HEAD", "config"]) {
      const file = path.join(dest(), ".git", name);
      const kept = readFileSync(file);
      rmSync(file);
      await execOk(["mkfifo", file]);
      const report = await converge();
      expect(report.outcome).toBe("failed");
      expect(report.error).toContain(`.git/${name} in the checkout is not a regular file`);
      rmSync(file);
      writeFileSync(file, kept);
    }
  });

  /** converge with an exec that runs `meanwhile` when git runs `sub` (before it, or after it) */
  const convergeRacing = (sub: string, when: "before" | "after", meanwhile: () => Promise<unknown>) => {
    const racing: Exec = async (argv, opts) => {
      const isSub = argv[1] === sub || (argv[1] === "-C" && argv[3] === sub);
      if (isSub && when === "before") await meanwhile();
      const res = await counting(argv, opts);
      if (isSub && when === "after") await meanwhile();
      return res;
    };
    ran = [];
    return convergeDecls(
      root,
      [
        { kind: "directory", name: "/srv", props: {} },
        { kind: "git", name: "/srv/app", props: { repository: bare } },
      ],
      { ctx: { exec: racing } },
    );
  };

  it("follows a branch that moved between ls-remote and the shallow fetch to its newer tip", async () => {
    expect((await converge()).outcome).toBe("converged");
    await commitTo(bare, { "b.txt": "b2\n" }, "fourth"); // what ls-remote will see
    let pushed = "";
    const report = await convergeRacing("fetch", "before", async () => {
      pushed = await commitTo(bare, { "b.txt": "b3\n" }, "fifth, pushed meanwhile");
    });
    // with depth 1 the commit ls-remote named is not even fetched: checking it out would fail
    expect(report.outcome, report.error).toBe("converged");
    expect(ran).toEqual(["ls-remote", "fetch", "checkout"]);
    expect(await gitIn("rev-parse", "HEAD")).toBe(pushed);
    expect(await gitIn("symbolic-ref", "--short", "HEAD")).toBe("master");
    expect(readFileSync(path.join(dest(), "b.txt"), "utf8")).toBe("b3\n");
  });

  it("a push after the clone does not fail the run: it converged to what it fetched", async () => {
    let pushed = "";
    const report = await convergeRacing("clone", "after", async () => {
      pushed = await commitTo(bare, { "c.txt": "c2\n" }, "pushed after the clone");
    });
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources[1].status).toBe("updated");
    expect(ran).toEqual(["ls-remote", "clone"]);
    expect(await gitIn("rev-parse", "HEAD")).toBe(commits[2]);
    // the next run takes the push
    const next = await converge();
    expect(next.resources[1].changes.map((c) => c.what)).toEqual([
      `move ${commits[2].slice(0, 7)} -> ${pushed.slice(0, 7)} (master)`,
    ]);
    expect(await gitIn("rev-parse", "HEAD")).toBe(pushed);
  });

  it("moves a checkout to a tag that was moved (annotated)", async () => {
    await annotatedTag(bare, "v1", commits[0], "v1");
    expect((await converge({ revision: "v1" })).outcome).toBe("converged");
    expect(await gitIn("rev-parse", "HEAD")).toBe(commits[0]);
    await annotatedTag(bare, "v1", commits[2], "v1 again", { force: true });
    const report = await converge({ revision: "v1" });
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources[1].changes.map((c) => c.what)).toEqual([
      `move ${commits[0].slice(0, 7)} -> ${commits[2].slice(0, 7)} (v1)`,
    ]);
    expect(await gitIn("rev-parse", "HEAD")).toBe(commits[2]);
    expect(readFileSync(path.join(dest(), ".git/HEAD"), "utf8").trim()).toBe(commits[2]); // detached
  });

  it("gives a checkout without an origin remote its origin back", async () => {
    expect((await converge()).outcome).toBe("converged");
    await gitIn("remote", "remove", "origin");
    const next = await commitTo(bare, { "b.txt": "b2\n" }, "fourth");
    const report = await converge();
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources[1].changes.map((c) => c.what)).toEqual([
      `add origin ${bare} (there was none)`,
      `move ${commits[2].slice(0, 7)} -> ${next.slice(0, 7)} (master)`,
    ]);
    expect(await gitIn("config", "--get", "remote.origin.url")).toBe(bare);
    expect(await gitIn("rev-parse", "HEAD")).toBe(next);
    // the section left, its url unset by hand
    await gitIn("config", "--unset", "remote.origin.url");
    const again = await converge();
    expect(again.outcome, again.error).toBe("converged");
    expect(again.resources[1].changes.map((c) => c.what)).toEqual([`add origin ${bare} (there was none)`]);
    expect(await gitIn("config", "--get", "remote.origin.url")).toBe(bare);
  });

  it("a sync throws away local changes to tracked files and leaves untracked files alone", async () => {
    expect((await converge()).outcome).toBe("converged");
    writeFileSync(path.join(dest(), "a.txt"), "edited on the server\n");
    writeFileSync(path.join(dest(), "b.txt"), "staged on the server\n");
    writeFileSync(path.join(dest(), "new.txt"), "added on the server\n");
    await gitIn("add", "b.txt", "new.txt");
    await gitIn("rm", "-q", "--cached", "c.txt"); // a staged deletion, the file still there
    writeFileSync(path.join(dest(), "untracked.log"), "log\n");
    const next = await commitTo(bare, { "d.txt": "d\n" }, "fourth");
    const report = await converge();
    expect(report.outcome, report.error).toBe("converged");
    expect(await gitIn("rev-parse", "HEAD")).toBe(next);
    expect(readFileSync(path.join(dest(), "a.txt"), "utf8")).toBe("a3\n");
    expect(readFileSync(path.join(dest(), "b.txt"), "utf8")).toBe("b1\n");
    expect(readFileSync(path.join(dest(), "d.txt"), "utf8")).toBe("d\n");
    expect(existsSync(path.join(dest(), "new.txt"))).toBe(false);
    expect(await gitIn("status", "--porcelain")).toBe("?? untracked.log");
  });

  it("a repository muster cannot read (no HEAD) is refused, never removed; a clone cut short leaves nothing", async () => {
    mkdirSync(path.join(root, "srv/app/.git/objects"), { recursive: true });
    writeFileSync(path.join(root, "srv/app/work.txt"), "uncommitted\n");
    const report = await converge();
    expect(report.outcome).toBe("failed");
    expect(report.error).toContain("/srv/app holds a git repository whose HEAD cannot be read");
    expect(readFileSync(path.join(root, "srv/app/work.txt"), "utf8")).toBe("uncommitted\n");
    // a clone that fails half way (a repository that is not there) leaves no half-made checkout
    rmSync(path.join(root, "srv/app"), { recursive: true });
    mkdirSync(path.join(root, "srv/app")); // an empty directory is replaced
    const failed = await convergeDecls(root, [
      {
        kind: "git",
        name: "/srv/app",
        props: { repository: path.join(root, "no-such.git"), revision: "a".repeat(40) },
      },
    ]);
    expect(failed.outcome).toBe("failed");
    expect(readdirSync(path.join(root, "srv")).sort()).toEqual(["app"]);
    expect(readdirSync(path.join(root, "srv/app"))).toEqual([]);
    expect((await converge()).outcome).toBe("converged");
    expect(await gitIn("rev-parse", "HEAD")).toBe(commits[2]);
  });

  it("never removes files that are not a checkout: refused, in a dry run too, and they stay", async () => {
    mkdirSync(path.join(root, "srv/app"), { recursive: true });
    writeFileSync(path.join(root, "srv/app/db.sqlite"), "someone's data\n");
    for (const dryRun of [true, false]) {
      const report = await convergeDecls(
        root,
        [{ kind: "git", name: "/srv/app", props: { repository: bare } }],
        { dryRun },
      );
      expect(report.outcome).toBe("failed");
      expect(report.error).toBe(
        "git[/srv/app] (recipe test): /srv/app holds files and is not a git checkout (db.sqlite); move them away or choose another destination",
      );
    }
    expect(readFileSync(path.join(root, "srv/app/db.sqlite"), "utf8")).toBe("someone's data\n");
  });

  it("fails with the repository's credentials hidden", async () => {
    // port 1 on loopback: refused at once
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/srv", props: {} },
      { kind: "git", name: "/srv/app", props: { repository: "http://x-token:s3cr3t@127.0.0.1:1/app.git" } },
    ]);
    expect(report.outcome).toBe("failed");
    expect(report.error).toMatch(/^git\[\/srv\/app\].*failed: .*127\.0\.0\.1/);
    expect(report.error).not.toContain("s3cr3t");
  });

  it("a user the run makes before the git resource: the look-up waits for its read", async () => {
    // the account exists only once the resource before git has run (a user resource would)
    let created = false;
    const uid = process.getuid?.() ?? 0;
    const ids = {
      uid: (n: string | number) => {
        if (n === "deploy" && !created) throw new Error('user "deploy" does not exist');
        return uid;
      },
      gid: () => process.getgid?.() ?? 0,
      userName: () => "deploy",
      groupName: () => "deploy",
      reset: () => {},
    };
    const report = await convergeDecls(
      root,
      [
        {
          kind: "directory",
          name: "/srv",
          common: {
            onlyIf: () => {
              created = true;
              return true;
            },
          },
        },
        { kind: "git", name: "/srv/app", props: { repository: bare, user: "deploy" } },
      ],
      { ctx: { ids } },
    );
    expect(report.outcome, report.error).toBe("converged");
    expect(await gitIn("rev-parse", "HEAD")).toBe(commits[2]);
  });

  it.runIf(process.geteuid?.() === 0)(
    "with a user, git starts where that user can look, not in the directory muster was started from",
    async () => {
      // the repository and the destination's parent are the user's (git refuses another user's
      // repository as "dubious ownership")
      chmodSync(path.dirname(bare), 0o755);
      await execOk(["chown", "-R", "65534:65534", bare]);
      chmodSync(root, 0o755);
      mkdirSync(path.join(root, "srv"), { mode: 0o755 });
      chownSync(path.join(root, "srv"), 65534, 65534);
      // muster run from a directory in one only root may enter (a checkout in root's home): a
      // git given no directory of its own would start there, and git refuses to run where it
      // cannot stat its working directory
      const privateParent = tmpDir();
      chmodSync(privateParent, 0o700);
      const privateDir = path.join(privateParent, "checkout");
      mkdirSync(privateDir);
      const startedThere: Exec = (argv, opts) => realExec(argv, { ...opts, cwd: opts?.cwd ?? privateDir });
      const report = await convergeDecls(
        root,
        [{ kind: "git", name: "/srv/app", props: { repository: bare, user: 65534, group: 65534 } }],
        { ctx: { exec: startedThere } },
      );
      expect(report.outcome, report.error).toBe("converged");
      expect(statSync(path.join(root, "srv/app/.git")).uid).toBe(65534);
    },
  );

  it("asks the remote and clones a new checkout aside while the resources before it run, then renames it into place", async () => {
    const started: Record<string, number> = {};
    const ends: Record<string, number> = {};
    let cloneInto = "";
    const timing: Exec = async (argv, opts) => {
      const name = argv[0] === "git" ? argv[1] : "command";
      started[name] ??= Date.now();
      if (argv[1] === "clone") cloneInto = argv[argv.length - 1];
      const res = await realExec(argv, opts);
      ends[name] ??= Date.now();
      return res;
    };
    const report = await convergeDecls(
      root,
      [
        { kind: "execute", name: "sleep 0.4" },
        { kind: "directory", name: "/srv", props: {} },
        { kind: "git", name: "/srv/app", props: { repository: bare } },
      ],
      { ctx: { exec: timing } },
    );
    expect(report.outcome, report.error).toBe("converged");
    expect(started["ls-remote"]).toBeLessThan(ends.command);
    // the clone was done before the command declared first had ended
    expect(ends.clone).toBeLessThan(ends.command);
    expect(cloneInto).toBe(path.join(root, STAGING, "1"));
    expect(await gitIn("rev-parse", "HEAD")).toBe(commits[2]);
    expect(await gitIn("status", "--porcelain")).toBe("");
    expect(readdirSync(path.join(root, STAGING))).toEqual([]);
    expect(report.resources.at(-1)?.changes.map((c) => c.key)).toEqual(["clone"]);
  });

  it("a run that fails before the git resource stops the look-up and the clone made aside, leaving nothing", async () => {
    const silent = net.createServer(() => {}); // accepts and never answers: git would wait
    await new Promise<void>((res) => silent.listen(0, "127.0.0.1", res));
    const port = (silent.address() as net.AddressInfo).port;
    const processes: Record<string, string> = {};
    const tracking: Exec = (argv, opts) => {
      const p = realExec(argv, opts);
      const name = argv[1]!;
      processes[name] = "running";
      p.then(() => (processes[name] = "ended")).catch(() => (processes[name] = "ended"));
      return p;
    };
    // a clone a killed run left behind is cleared by the next run
    mkdirSync(path.join(root, STAGING, "1/.git"), { recursive: true });
    try {
      const started = Date.now();
      const report = await convergeDecls(
        root,
        [
          { kind: "file", name: "/missing/dir/x", props: { content: "x" } },
          { kind: "git", name: "/srv/app", props: { repository: `http://127.0.0.1:${port}/app.git` } },
        ],
        { ctx: { exec: tracking } },
      );
      expect(report.outcome).toBe("failed");
      expect(Date.now() - started).toBeLessThan(10_000);
      // the run waited for both: they have ended, and nothing of the clone is left
      expect(processes).toEqual({ "ls-remote": "ended", clone: "ended" });
      expect(readdirSync(path.join(root, STAGING))).toEqual([]);
      expect(existsSync(path.join(root, "srv/app"))).toBe(false);
    } finally {
      silent.close();
    }
  });

  it("a clone made aside on another filesystem than its destination is cloned again in place", async () => {
    const fs = new RootFs(root);
    const rename = fs.rename.bind(fs);
    let refused = 0;
    fs.rename = (from, to) => {
      if (from.startsWith(STAGING)) {
        refused++;
        throw Object.assign(new Error("EXDEV: cross-device link not permitted"), { code: "EXDEV" });
      }
      rename(from, to);
    };
    const report = await converge({}, { fs });
    expect(report.outcome, report.error).toBe("converged");
    expect(refused).toBe(1);
    expect(ran).toEqual(["ls-remote", "clone", "clone"]);
    expect(await gitIn("rev-parse", "HEAD")).toBe(commits[2]);
    expect(readdirSync(path.join(root, STAGING))).toEqual([]);
  });

  it("a checkout whose parent directories are missing is cloned aside and placed, its parents made as git makes them", async () => {
    ran = [];
    const report = await convergeDecls(
      root,
      [{ kind: "git", name: "/opt/apps/app", props: { repository: bare } }],
      {
        ctx: { exec: counting },
      },
    );
    expect(report.outcome, report.error).toBe("converged");
    expect(ran).toEqual(["ls-remote", "clone"]);
    expect(statSync(path.join(root, "opt/apps")).mode & 0o777).toBe(0o755);
    expect(
      (await execOk(["git", "-C", path.join(root, "opt/apps/app"), "rev-parse", "HEAD"])).stdout.trim(),
    ).toBe(commits[2]);
  });

  it("an existing parent keeps its mode: a private home stays 0700, a shared /tmp keeps its sticky bit", async () => {
    mkdirSync(path.join(root, "home/alice"), { recursive: true, mode: 0o700 });
    chmodSync(path.join(root, "home/alice"), 0o700);
    mkdirSync(path.join(root, "tmp"));
    chmodSync(path.join(root, "tmp"), 0o1777);
    const report = await convergeDecls(root, [
      { kind: "git", name: "/home/alice/app", props: { repository: bare } },
      { kind: "git", name: "/tmp/cache", props: { repository: bare } },
    ]);
    expect(report.outcome, report.error).toBe("converged");
    expect(statSync(path.join(root, "home/alice")).mode & 0o7777).toBe(0o700);
    expect(statSync(path.join(root, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(existsSync(path.join(root, "home/alice/app/.git"))).toBe(true);
  });

  it("a destination on another filesystem than muster's directory is cloned in place, not aside", async () => {
    mkdirSync(path.join(root, "srv")); // a mount point exists before any run
    const fs = new RootFs(root);
    const stat = fs.stat.bind(fs);
    // /srv as a volume of its own
    fs.stat = (p) => {
      const st = stat(p);
      return st && (p === "/srv" || p.startsWith("/srv/")) ? { ...st, dev: st.dev + 1 } : st;
    };
    let cloneInto = "";
    const watching: Exec = (argv, opts) => {
      if (argv[1] === "clone") cloneInto = argv[argv.length - 1]!;
      return counting(argv, opts);
    };
    const report = await converge({}, { exec: watching, fs });
    expect(report.outcome, report.error).toBe("converged");
    expect(ran).toEqual(["ls-remote", "clone"]);
    // beside it, under a name no one can guess to plant a link at
    expect(path.basename(cloneInto)).toMatch(/^\.app\.muster-clone-[0-9a-f]{16}$/);
    expect(await gitIn("rev-parse", "HEAD")).toBe(commits[2]);
  });

  it("on another filesystem, a directory another user can write is refused for root's clone", async () => {
    mkdirSync(path.join(root, "srv"));
    chmodSync(path.join(root, "srv"), 0o777);
    const fs = new RootFs(root);
    const stat = fs.stat.bind(fs);
    fs.stat = (p) => {
      const st = stat(p);
      return st && (p === "/srv" || p.startsWith("/srv/")) ? { ...st, dev: st.dev + 1 } : st;
    };
    const report = await converge({}, { exec: counting, fs });
    expect(report.outcome).toBe("failed");
    expect(report.error).toContain(
      "its directory can be written by a user other than root, and it is on another filesystem",
    );
    expect(readdirSync(path.join(root, "srv"))).toEqual([]);
  });

  it("attack: a link planted where the clone of a commit id used to go (a predictable name) is never followed", async () => {
    // the clone of a commit id is not made aside by prefetch: apply makes it, now in STAGING
    mkdirSync(path.join(root, "srv/app"), { recursive: true });
    chmodSync(path.join(root, "srv/app"), 0o777); // a directory another user can write
    mkdirSync(path.join(root, "etc"));
    writeFileSync(path.join(root, "etc/README"), "the host's own\n");
    for (const name of [`current.muster-clone-${process.pid}`, `.current.muster-clone-${process.pid}`])
      symlinkSync("/etc", path.join(root, "srv/app", name));
    const report = await convergeDecls(root, [
      { kind: "git", name: "/srv/app/current", props: { repository: bare, revision: commits[1] } },
    ]);
    expect(report.outcome, report.error).toBe("converged");
    expect(readFileSync(path.join(root, "etc/README"), "utf8")).toBe("the host's own\n");
    expect(existsSync(path.join(root, "etc/.git"))).toBe(false);
    expect(
      (await execOk(["git", "-C", path.join(root, "srv/app/current"), "rev-parse", "HEAD"])).stdout.trim(),
    ).toBe(commits[1]);
    expect(readdirSync(path.join(root, STAGING))).toEqual([]);
  });

  it("a dry run and a checkout owned by another user clone nothing aside", async () => {
    const dry = await convergeDecls(
      root,
      [
        { kind: "directory", name: "/srv", props: {} },
        { kind: "git", name: "/srv/app", props: { repository: bare } },
      ],
      { dryRun: true, ctx: { exec: counting } },
    );
    expect(dry.outcome, dry.error).toBe("converged");
    expect(existsSync(path.join(root, STAGING))).toBe(false);
  });
});

describe("isRepositoryAddress", () => {
  it("takes URLs, scp-like addresses and absolute paths, not relative paths", () => {
    for (const ok of [
      "https://h/app.git",
      "ssh://git@h/app.git",
      "file:///srv/app.git",
      "git@h:o/app.git",
      "h:app.git",
      "/srv/git/app.git",
    ])
      expect(isRepositoryAddress(ok), ok).toBe(true);
    for (const bad of ["app.git", "../app.git", "./repos/app.git", "repos/a:b.git"])
      expect(isRepositoryAddress(bad), bad).toBe(false);
  });
  it("is what the schema checks: a relative path is bad input naming the field", () => {
    const r = git.schema.safeParse({ destination: "/srv/app", repository: "../app.git" });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain("absolute path");
  });
  it("attack: credentials in the URL with a user are bad input: that user could read them from its git's /proc/PID/environ", () => {
    const parse = (repository: string, user?: string) =>
      git.schema.safeParse({ destination: "/srv/app", repository, ...(user ? { user } : {}) });
    const r = parse("https://deploy:t0ken@h/app.git", "app");
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["repository"]);
    expect(r.error?.issues[0]?.message).toMatch(
      /^a repository URL with credentials and a user: that user could read them/,
    );
    expect(parse("https://t0ken@h/app.git", "app").success).toBe(false);
    // no secret, or no user: as before
    for (const [url, user] of [
      ["https://deploy:t0ken@h/app.git", undefined],
      ["ssh://git@h/app.git", "app"],
      ["git@h:o/app.git", "app"],
      ["https://h/app.git", "app"],
    ] as const)
      expect(parse(url, user).success, `${url} ${user}`).toBe(true);
  });
});
