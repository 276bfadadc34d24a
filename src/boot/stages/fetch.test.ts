import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bareRepoFrom, commitTo, headOf } from "../../demo/example-repos.ts";
import { exec, execOk } from "../../host/exec.ts";
import { RootFs } from "../../host/root-fs.ts";
import { gitArgvRecorder, watchCmdlines } from "../../test-support/argv-watch.ts";
import { startAuthGitServer } from "../../test-support/git-auth-server.ts";
import { annotatedTag } from "../../test-support/git-tags.ts";
import { cleanupTmp, EXAMPLES, tmpDir } from "../../test-support/tmp.ts";
import { fetchConfigRepo } from "./fetch.ts";

let bare: string;
const repo = (over: Record<string, unknown> = {}) => ({ url: bare, ref: "master", depth: 1, ...over });

beforeAll(async () => {
  bare = path.join(tmpDir(), "config.git");
  await bareRepoFrom(path.join(EXAMPLES, "config-repo"), bare);
  await commitTo(bare, { "README.md": "second\n" }, "second");
  await execOk(["git", "--git-dir", bare, "tag", "v1", `${await headOf(bare)}~1`]);
});
afterAll(cleanupTmp);

const sockets: Socket[] = [];
let hang: Server | undefined;
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (hang) await new Promise((r) => hang!.close(r));
  hang = undefined;
});

function fetchInto(root: string, over: Record<string, unknown> = {}, timeoutMs = 10_000) {
  return fetchConfigRepo({
    fs: new RootFs(root),
    stateDir: "/var/lib/muster",
    repo: repo(over) as any,
    timeoutMs,
  });
}

describe("fetching the config repo", () => {
  it("fetches the ref shallow into the state directory and records the commit", async () => {
    const root = tmpDir();
    const r = await fetchInto(root);
    expect(r.dir).toBe(path.join(root, "var/lib/muster/config"));
    expect(r.commit).toBe(await headOf(bare));
    expect(existsSync(path.join(r.dir, "roles/web.json"))).toBe(true);
    const shallow = await execOk(["git", "-C", r.dir, "rev-parse", "--is-shallow-repository"]);
    expect(shallow.stdout.trim()).toBe("true");
  });

  it("attack: another local user reads the config repo's files: the checkout is closed to all but root, an old open one too", async () => {
    const root = tmpDir();
    chmodSync(root, 0o755); // the way to the root open to all, as / and /var/lib are
    const asNobody = (file: string) => exec(["cat", file], { uid: 65534, gid: 65534 });
    const r = await fetchInto(root);
    const file = path.join(r.dir, "roles/web.json");
    expect(statSync(r.dir).mode & 0o777).toBe(0o700);
    const read = await asNobody(file);
    expect(read.code).not.toBe(0);
    expect(read.stderr).toMatch(/Permission denied/);
    // a checkout an older muster left open is closed on the next fetch
    chmodSync(r.dir, 0o755);
    expect((await asNobody(file)).code).toBe(0);
    await fetchInto(root);
    expect(statSync(r.dir).mode & 0o777).toBe(0o700);
    expect((await asNobody(file)).code).not.toBe(0);
  });

  it("reuses the previous checkout: moves it to the new commit, keeps node_modules, drops strays", async () => {
    const root = tmpDir();
    const first = await fetchInto(root);
    const gitDirIno = statSync(path.join(first.dir, ".git")).ino;
    mkdirSync(path.join(first.dir, "node_modules/x"), { recursive: true });
    writeFileSync(path.join(first.dir, "stray.txt"), "left behind\n");
    writeFileSync(path.join(first.dir, "roles/web.json"), "edited by hand\n");
    const next = await commitTo(bare, { "recipes/extra.ts": "// new\n" }, "third");
    const second = await fetchInto(root);
    expect(second.commit).toBe(next);
    expect(statSync(path.join(second.dir, ".git")).ino).toBe(gitDirIno);
    expect(existsSync(path.join(second.dir, "node_modules/x"))).toBe(true);
    expect(existsSync(path.join(second.dir, "stray.txt"))).toBe(false);
    expect(readFileSync(path.join(second.dir, "roles/web.json"), "utf8")).toContain('"name": "web"');
  });

  it("a first fetch is one git clone; a later one fetch, checkout and clean", async () => {
    // a git first on PATH that logs its subcommand, then runs the real one
    const bin = tmpDir();
    const log = path.join(bin, "git.log");
    const realGit = (await execOk(["sh", "-c", "command -v git"])).stdout.trim();
    writeFileSync(
      path.join(bin, "git"),
      `#!/bin/sh\n[ "$1" = -C ] && echo "$3" >> ${log} || echo "$1" >> ${log}\nexec ${realGit} "$@"\n`,
    );
    chmodSync(path.join(bin, "git"), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const ran = () => readFileSync(log, "utf8").trim().split("\n");
    const root = tmpDir();
    const fetch = () =>
      fetchConfigRepo({
        fs: new RootFs(root),
        stateDir: "/var/lib/muster",
        repo: repo() as any,
        timeoutMs: 10_000,
        env,
      });
    const first = await fetch();
    expect(first.commit).toBe(await headOf(bare));
    expect(ran()).toEqual(["clone"]);
    const shallow = await execOk(["git", "-C", first.dir, "rev-parse", "--is-shallow-repository"]);
    expect(shallow.stdout.trim()).toBe("true");
    writeFileSync(log, "");
    const next = await commitTo(bare, { "recipes/later.ts": "// later\n" }, "later");
    expect((await fetch()).commit).toBe(next);
    expect(ran()).toEqual(["fetch", "checkout", "clean"]);
  });

  it("a checkout left without its origin (an init cut short, or origin removed) is replaced", async () => {
    const root = tmpDir();
    const dir = path.join(root, "var/lib/muster/config");
    await execOk(["git", "init", "-q", dir]);
    writeFileSync(path.join(dir, "half.txt"), "left behind\n");
    const r = await fetchInto(root);
    expect(r.commit).toBe(await headOf(bare));
    expect(existsSync(path.join(dir, "half.txt"))).toBe(false);
    expect(existsSync(path.join(dir, "roles/web.json"))).toBe(true);
  });

  it("a clone killed half way (origin set, nothing fetched yet) is fetched into", async () => {
    const root = tmpDir();
    const dir = path.join(root, "var/lib/muster/config");
    await execOk(["git", "init", "-q", dir]);
    await execOk(["git", "-C", dir, "remote", "add", "origin", bare]);
    const r = await fetchInto(root);
    expect(r.commit).toBe(await headOf(bare));
    expect(existsSync(path.join(dir, "roles/web.json"))).toBe(true);
  });

  it("a name that is a branch and a tag is the branch, on the first fetch and on later ones", async () => {
    const twin = path.join(tmpDir(), "twin.git");
    await bareRepoFrom(path.join(EXAMPLES, "config-repo"), twin);
    const tagged = await headOf(twin);
    await execOk(["git", "--git-dir", twin, "branch", "rel", tagged]);
    const branchTip = await commitTo(twin, { "README.md": "on the branch\n" }, "branch work", "rel");
    await annotatedTag(twin, "rel", tagged, "rel");
    const root = tmpDir();
    expect((await fetchInto(root, { url: twin, ref: "rel" })).commit).toBe(branchTip);
    expect((await fetchInto(root, { url: twin, ref: "rel" })).commit).toBe(branchTip);
    // a tag alone, fetched into an existing checkout
    expect((await fetchInto(root, { url: twin, ref: "rel-tag-only" }).catch((e) => e)).message).toMatch(
      /has no branch or tag "rel-tag-only"/,
    );
    await execOk(["git", "--git-dir", twin, "tag", "only-a-tag", tagged]);
    expect((await fetchInto(root, { url: twin, ref: "only-a-tag" })).commit).toBe(tagged);
  });

  it("a relative url is resolved from the checkout, on the first fetch and on later ones", async () => {
    const root = tmpDir();
    const rel = path.relative(path.join(root, "var/lib/muster/config"), bare);
    expect(rel.startsWith("../")).toBe(true);
    expect((await fetchInto(root, { url: rel })).commit).toBe(await headOf(bare));
    expect((await fetchInto(root, { url: rel })).commit).toBe(await headOf(bare));
  });

  it("fetches a tag or a full commit id", async () => {
    const root = tmpDir();
    const tagged = (await execOk(["git", "--git-dir", bare, "rev-parse", "v1^{commit}"])).stdout.trim();
    expect((await fetchInto(root, { ref: "v1" })).commit).toBe(tagged);
    expect((await fetchInto(tmpDir(), { ref: tagged })).commit).toBe(tagged);
  });

  it("an unknown ref is one clear line", async () => {
    await expect(fetchInto(tmpDir(), { ref: "no-such-branch" })).rejects.toThrow(
      `config repo ${bare} has no branch or tag "no-such-branch"; check repo.ref`,
    );
  });

  it("recovers from git lock files a killed run left behind", async () => {
    const root = tmpDir();
    const r = await fetchInto(root);
    writeFileSync(path.join(r.dir, ".git/index.lock"), "");
    writeFileSync(path.join(r.dir, ".git/shallow.lock"), "");
    expect((await fetchInto(root)).commit).toBe(r.commit);
    expect(existsSync(path.join(r.dir, ".git/index.lock"))).toBe(false);
  });

  it("refuses a deploy key readable by group or others, and says how to fix it", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "etc/muster"), { recursive: true });
    const key = path.join(root, "etc/muster/deploy_key");
    writeFileSync(key, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    chmodSync(key, 0o644);
    const err = await fetchInto(root, { sshKey: "/etc/muster/deploy_key" }).catch((e) => e);
    expect(err.name).toBe("InputError");
    expect(err.message).toBe(
      "repo.sshKey /etc/muster/deploy_key: the deploy key is readable or writable by group or others (mode 0644); " +
        "run chmod 600 /etc/muster/deploy_key (and keep it owned by the user muster runs as)",
    );
    chmodSync(key, 0o640);
    await expect(fetchInto(root, { sshKey: "/etc/muster/deploy_key" })).rejects.toThrow(/mode 0640/);
    chmodSync(key, 0o600);
    expect((await fetchInto(root, { sshKey: "/etc/muster/deploy_key" })).commit).toBe(await headOf(bare));
    await expect(fetchInto(root, { sshKey: "/etc/muster/missing_key" })).rejects.toThrow(
      /no such file under the root/,
    );
  });

  it("the deploy key and known_hosts are the root's, a link in the root to an absolute path too: ssh is given their host paths under the root", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "etc/muster"), { recursive: true });
    // a directory the host itself has not: were the link followed outside the root, nothing is found
    mkdirSync(path.join(root, "muster-test-keys"));
    writeFileSync(path.join(root, "muster-test-keys/deploy_key"), "key\n", { mode: 0o600 });
    writeFileSync(path.join(root, "muster-test-keys/known_hosts"), "hosts\n");
    symlinkSync("/muster-test-keys/deploy_key", path.join(root, "etc/muster/deploy_key"));
    symlinkSync("/muster-test-keys/known_hosts", path.join(root, "etc/muster/known_hosts"));
    // an ssh that records what git hands it
    const bin = tmpDir();
    const argvFile = path.join(bin, "argv");
    writeFileSync(path.join(bin, "ssh"), `#!/bin/sh\nprintf '%s\\n' "$@" > '${argvFile}'\nexit 255\n`, {
      mode: 0o755,
    });
    const err = await fetchConfigRepo({
      fs: new RootFs(root),
      stateDir: "/var/lib/muster",
      repo: repo({
        url: "ssh://git@git.example.test/config.git",
        sshKey: "/etc/muster/deploy_key",
        knownHosts: "/etc/muster/known_hosts",
      }) as any,
      timeoutMs: 10_000,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    }).catch((e) => e);
    expect(err.name).toBe("RunError");
    const real = realpathSync(root);
    const argv = readFileSync(argvFile, "utf8").split("\n");
    expect(argv).toContain(`UserKnownHostsFile=${real}/muster-test-keys/known_hosts`);
    expect(argv[argv.indexOf("-i") + 1]).toBe(`${real}/muster-test-keys/deploy_key`);
  });

  it("a git host that is down fails fast, with credentials hidden", async () => {
    const err = await fetchInto(tmpDir(), { url: "https://deploy:s3cret@127.0.0.1:1/config.git" }).catch(
      (e) => e,
    );
    expect(err.message).toMatch(
      /^config repo https:\/\/\*\*\*@127\.0\.0\.1:1\/config\.git: fetching master failed: /,
    );
    expect(err.message).not.toContain("s3cret");
  });

  it("a git host that accepts and never answers runs into the step's timeout", async () => {
    hang = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => hang!.listen(0, "127.0.0.1", r));
    const port = (hang.address() as { port: number }).port;
    const started = Date.now();
    const err = await fetchInto(tmpDir(), { url: `ssh://git@127.0.0.1:${port}/config.git` }, 600).catch(
      (e) => e,
    );
    // an ssh user name is not a secret: it stays (passwords and http(s) user parts do not)
    expect(err.message).toBe(
      `config repo ssh://git@127.0.0.1:${port}/config.git: fetching master did not finish within 0.6 s`,
    );
    // the host never answers: the 0.6 s step timeout ended it (a bound far above it)
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("an ssh failure names git's cause, not its closing advice", async () => {
    // a port nothing listens on: ssh says "Connection refused", git then adds its advice
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const err = await fetchInto(tmpDir(), { url: `ssh://git@127.0.0.1:${port}/config.git` }).catch((e) => e);
    expect(err.message).toMatch(
      new RegExp(
        `^config repo ssh://git@127\\.0\\.0\\.1:${port}/config\\.git: fetching master failed: .*Connection refused`,
      ),
    );
    expect(err.message).not.toContain("the repository exists");
  });
});

describe("credentials in the config repo's URL", () => {
  const token = `tok3n${process.pid}x${Date.now()}`;

  it("reach git only through its environment: never on a command line, never in .git", async () => {
    const projectRoot = tmpDir();
    await bareRepoFrom(path.join(EXAMPLES, "config-repo"), path.join(projectRoot, "config.git"));
    const server = await startAuthGitServer({
      projectRoot,
      user: "deploy",
      password: token,
      host: "127.0.0.1",
    });
    try {
      const plain = `${server.url}/config.git`;
      const url = plain.replace("http://", `http://deploy:${token}@`);
      const recorder = await gitArgvRecorder();
      const root = tmpDir();
      const fetch = () =>
        fetchConfigRepo({
          fs: new RootFs(root),
          stateDir: "/var/lib/muster",
          repo: repo({ url }) as any,
          timeoutMs: 10_000,
          env: { ...process.env, ...recorder.env },
        });
      const watch = watchCmdlines(token);
      // the first fetch is a clone, the second a fetch into the checkout
      const first = await fetch();
      const next = await commitTo(path.join(projectRoot, "config.git"), { "README.md": "more\n" }, "more");
      const second = await fetch();
      // a checkout whose origin an older muster stored with the token is rewritten without it
      // (written into the file: `git remote set-url` would put it on a command line)
      const config = path.join(second.dir, ".git/config");
      writeFileSync(config, readFileSync(config, "utf8").replace(plain, url));
      expect(readFileSync(config, "utf8")).toContain(token);
      const third = await fetch();
      const seen = watch.stop();

      expect(first.commit).not.toBe(next);
      expect(second.commit).toBe(next);
      expect(third.commit).toBe(next);
      // the server saw the credentials, so git had them
      expect(server.authorizations).toContain(`Basic ${Buffer.from(`deploy:${token}`).toString("base64")}`);
      // git and its http transport (git-remote-http) ran, and no command line held the token
      const argvs = recorder.argvs();
      expect(argvs.some((a) => /git-remote-http /.test(a) && a.includes(plain))).toBe(true);
      expect(argvs.filter((a) => a.includes(token))).toEqual([]);
      expect(seen).toEqual([]);
      // the stored origin has no user info, and nothing under .git holds the token
      expect((await execOk(["git", "-C", third.dir, "config", "remote.origin.url"])).stdout.trim()).toBe(
        plain,
      );
      const grep = await exec(["grep", "-rl", token, path.join(third.dir, ".git")]);
      expect(grep.stdout).toBe("");
      expect(grep.code).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("a redirect is not followed: the fetch fails naming it, and the other host never sees the token", async () => {
    const elsewhere = await startAuthGitServer({
      projectRoot: tmpDir(),
      user: "x",
      password: "y",
      host: "127.0.0.2",
    });
    const redirecting = await startAuthGitServer({
      projectRoot: tmpDir(),
      user: "deploy",
      password: token,
      host: "127.0.0.1",
      redirectTo: elsewhere.url,
    });
    try {
      const url = `${redirecting.url}/config.git`.replace("http://", `http://deploy:${token}@`);
      await expect(fetchInto(tmpDir(), { url })).rejects.toThrow(
        /fetching master failed: .*The requested URL returned error: 302$/,
      );
      // the header went where the URL points, and no request (with the token or not) went elsewhere
      expect(redirecting.authorizations[0]).toMatch(/^Basic /);
      expect(elsewhere.authorizations).toEqual([]);
    } finally {
      await redirecting.close();
      await elsewhere.close();
    }
  });
});
