import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bareRepoFrom, commitTo } from "../demo/example-repos.ts";
import { exec, execOk } from "../host/exec.ts";
import { gitArgvRecorder, watchCmdlines } from "../test-support/argv-watch.ts";
import { startAuthGitServer } from "../test-support/git-auth-server.ts";
import { convergeDecls } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { credentialEnv, holdsCredentials, splitCredentials, storedUrl } from "./git-credentials.ts";
import { gitEnv } from "./git-env.ts";

const basic = (s: string) => `Authorization: Basic ${Buffer.from(s).toString("base64")}`;

describe("splitCredentials", () => {
  it("takes user info out of an http(s) URL and gives it as a Basic header", () => {
    expect(splitCredentials("https://deploy:tok3n@git.test/o/r.git")).toEqual({
      url: "https://git.test/o/r.git",
      authorization: basic("deploy:tok3n"),
    });
    // a lone token is the user, with an empty password; escapes are decoded
    expect(splitCredentials("https://ghp_x@git.test:8443/r.git")).toEqual({
      url: "https://git.test:8443/r.git",
      authorization: basic("ghp_x:"),
    });
    expect(splitCredentials("http://u%40corp:p%3Aw@127.0.0.1/r.git?x=@y").url).toBe(
      "http://127.0.0.1/r.git?x=@y",
    );
    expect(splitCredentials("http://u%40corp:p%3Aw@127.0.0.1/r.git").authorization).toBe(basic("u@corp:p:w"));
  });
  it("leaves ssh, scp-like, file URLs and paths, and URLs without user info as they are", () => {
    for (const u of [
      "ssh://git@git.test/r.git",
      "git@git.test:o/r.git",
      "file:///srv/git/r.git",
      "/srv/git/r.git",
      "https://git.test/r.git",
      "https://git.test/a@b.git",
    ])
      expect(splitCredentials(u)).toEqual({ url: u });
  });
});

describe("holdsCredentials", () => {
  it("finds a URL with a secret in a config text, not an ssh user name", () => {
    expect(holdsCredentials('{"url": "https://ghp_x@git.test/r.git"}')).toBe(true);
    expect(holdsCredentials('{"app": {"repo": "http://u:p@127.0.0.1/r.git"}}')).toBe(true);
    expect(holdsCredentials('{"url": "ssh://git:pw@git.test/r.git"}')).toBe(true);
    expect(holdsCredentials('{"url": "ssh://git@git.test/r.git", "a": "git@git.test:o/r.git"}')).toBe(false);
    expect(holdsCredentials('{"url": "https://git.test/r.git", "mail": "ops@example.test"}')).toBe(false);
    // JSON escapes: the same URLs to a JSON reader
    expect(holdsCredentials('{"url": "https:\\/\\/deploy\\u003atok3n\\u0040git.test\\/r.git"}')).toBe(true);
    expect(JSON.parse('{"url": "https:\\/\\/deploy\\u003atok3n\\u0040git.test\\/r.git"}').url).toBe(
      "https://deploy:tok3n@git.test/r.git",
    );
  });
});

describe("credentialEnv", () => {
  it("scopes the header to the URL in environment-only git configuration, after entries already there, and follows no redirect", () => {
    expect(credentialEnv({}, "https://u:p@git.test/r.git")).toEqual({
      GIT_CONFIG_COUNT: "2",
      GIT_CONFIG_KEY_0: "http.https://git.test/r.git.extraHeader",
      GIT_CONFIG_VALUE_0: basic("u:p"),
      GIT_CONFIG_KEY_1: "http.https://git.test/r.git.followRedirects",
      GIT_CONFIG_VALUE_1: "false",
    });
    expect(credentialEnv({ GIT_CONFIG_COUNT: "2" }, "https://u:p@git.test/r.git")).toEqual({
      GIT_CONFIG_COUNT: "4",
      GIT_CONFIG_KEY_2: "http.https://git.test/r.git.extraHeader",
      GIT_CONFIG_VALUE_2: basic("u:p"),
      GIT_CONFIG_KEY_3: "http.https://git.test/r.git.followRedirects",
      GIT_CONFIG_VALUE_3: "false",
    });
    expect(credentialEnv({}, "https://git.test/r.git")).toEqual({});
    expect(credentialEnv({}, undefined)).toEqual({});
    expect(gitEnv({}, { repository: "https://u:p@git.test/r.git" }).GIT_CONFIG_VALUE_0).toBe(basic("u:p"));
  });
});

describe("a git resource with credentials in its repository URL", () => {
  afterAll(cleanupTmp);
  const token = `tok3n${process.pid}x${Date.now()}`;

  it("never puts them on a command line or in .git; a later run is no change; an old origin with them is rewritten", async () => {
    const projectRoot = tmpDir();
    const src = tmpDir();
    writeFileSync(path.join(src, "a.txt"), "a1\n");
    const bare = path.join(projectRoot, "app.git");
    await bareRepoFrom(src, bare, "first");
    const server = await startAuthGitServer({
      projectRoot,
      user: "x-token",
      password: token,
      host: "127.0.0.1",
    });
    try {
      const plain = `${server.url}/app.git`;
      const repository = plain.replace("http://", `http://x-token:${token}@`);
      const recorder = await gitArgvRecorder();
      const root = tmpDir();
      const dest = path.join(root, "srv/app");
      const converge = () =>
        convergeDecls(
          root,
          [
            { kind: "directory", name: "/srv", props: {} },
            { kind: "git", name: "/srv/app", props: { repository } },
          ],
          { ctx: { env: { ...process.env, ...recorder.env } } },
        );
      const watch = watchCmdlines(token);

      const first = await converge();
      expect(first.outcome, first.error).toBe("converged");
      // the same credentialed URL again: origin is compared without user info
      const again = await converge();
      expect(again.resources.map((r) => r.status)).toEqual(["up-to-date", "up-to-date"]);
      // a new commit: ls-remote, fetch and checkout, all with the credentials
      const next = await commitTo(bare, { "a.txt": "a2\n" }, "second");
      const moved = await converge();
      expect(moved.outcome, moved.error).toBe("converged");
      expect((await execOk(["git", "-C", dest, "rev-parse", "HEAD"])).stdout.trim()).toBe(next);
      // an origin an older muster stored with the token (written into the file, not by a command)
      const config = path.join(dest, ".git/config");
      writeFileSync(config, readFileSync(config, "utf8").replace(plain, repository));
      const rewritten = await converge();
      expect(rewritten.outcome, rewritten.error).toBe("converged");
      expect(rewritten.resources[1].changes.map((c) => c.what)).toEqual([
        `set origin to ${plain} (was http://***@${plain.slice("http://".length)})`,
      ]);
      const seen = watch.stop();

      expect(storedUrl(repository)).toBe(plain);
      expect(server.authorizations).toContain(`Basic ${Buffer.from(`x-token:${token}`).toString("base64")}`);
      const argvs = recorder.argvs();
      expect(argvs.some((a) => / ls-remote /.test(a))).toBe(true);
      expect(argvs.some((a) => /git-remote-http /.test(a) && a.includes(plain))).toBe(true);
      expect(argvs.filter((a) => a.includes(token))).toEqual([]);
      expect(seen).toEqual([]);
      expect((await execOk(["git", "-C", dest, "config", "remote.origin.url"])).stdout.trim()).toBe(plain);
      const grep = await exec(["grep", "-rl", token, path.join(dest, ".git")]);
      expect(grep.stdout).toBe("");
      expect(grep.code).toBe(1);
      expect(JSON.stringify([first, again, moved, rewritten])).not.toContain(token);
    } finally {
      await server.close();
    }
  });
});
