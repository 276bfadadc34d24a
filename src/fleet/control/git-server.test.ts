import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../core/errors.ts";
import { bareRepoFrom, commitTo } from "../../demo/example-repos.ts";
import { exec } from "../../host/exec.ts";
import { cleanupTmp, EXAMPLES, tmpDir } from "../../test-support/tmp.ts";
import {
  cgiEnvironment,
  type GitServer,
  parseCgiHeaders,
  splitCgiHeaders,
  startGitServer,
} from "./git-server.ts";

let root: string;
let projectRoot: string;
let appHead: string;
let home: string;
const servers: GitServer[] = [];

beforeAll(async () => {
  root = tmpDir("muster-git-server-");
  projectRoot = path.join(root, "repos");
  mkdirSync(projectRoot);
  home = path.join(root, "home");
  mkdirSync(home);
  appHead = await bareRepoFrom(path.join(EXAMPLES, "app"), path.join(projectRoot, "app.git"), "first");
});

afterEach(async () => {
  while (servers.length > 0) await servers.pop()!.close();
});

afterAll(() => cleanupTmp());

async function serve(opts: Partial<Parameters<typeof startGitServer>[0]> = {}): Promise<GitServer> {
  const s = await startGitServer({ projectRoot, host: "127.0.0.1", ...opts });
  servers.push(s);
  return s;
}

/** Run git as a client would: no prompts, no user or system config. */
function git(args: string[], timeoutMs = 20_000) {
  return exec(["git", ...args], {
    timeoutMs,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_TERMINAL_PROMPT: "0",
      LANG: "C",
    },
  });
}

describe("serving bare repositories over smart HTTP", () => {
  it("clones a repository with --depth 1 and records the upload-pack requests", async () => {
    const s = await serve();
    const dest = path.join(root, "clone-shallow");
    const res = await git(["clone", "-q", "--depth", "1", s.repoUrl("app.git"), dest]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(readFileSync(path.join(dest, "server.js"), "utf8")).toBe(
      readFileSync(path.join(EXAMPLES, "app/server.js"), "utf8"),
    );
    const head = await git(["-C", dest, "rev-parse", "HEAD"]);
    expect(head.stdout.trim()).toBe(appHead);
    const shallow = await git(["-C", dest, "rev-parse", "--is-shallow-repository"]);
    expect(shallow.stdout.trim()).toBe("true");

    const paths = s.requests.map((r) => `${r.method} ${r.path}`);
    expect(paths[0]).toBe("GET /app.git/info/refs");
    expect(paths).toContain("POST /app.git/git-upload-pack");
    expect(s.requests.every((r) => r.status === 200)).toBe(true);
    expect(s.requests.every((r) => r.service === "git-upload-pack")).toBe(true);
    // git 2.39 speaks protocol v2 over HTTP through the Git-Protocol header.
    expect(s.requests[0]!.gitProtocol).toBe("version=2");
    expect(s.requests[0]!.remoteAddress).toBe("127.0.0.1");
  });

  it("serves a new commit and lists refs with ls-remote", async () => {
    const bare = path.join(projectRoot, "moving.git");
    await bareRepoFrom(path.join(EXAMPLES, "app"), bare, "one");
    const second = await commitTo(bare, { "public/version.txt": "2\n" }, "two");
    const s = await serve();
    const res = await git(["ls-remote", s.repoUrl("moving.git")]);
    expect(res.code).toBe(0);
    const refs = Object.fromEntries(
      res.stdout
        .trim()
        .split("\n")
        .map((l) => l.split("\t").reverse()),
    );
    expect(refs["refs/heads/master"]).toBe(second);
    expect(refs.HEAD).toBe(second);
  });

  it("answers 404 for a repository that does not exist, and git says so", async () => {
    const s = await serve();
    const res = await git(["ls-remote", s.repoUrl("nope.git")]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/not found/i);
    expect(s.requests.at(-1)!.status).toBe(404);
  });

  it("never serves a repository outside the project root", async () => {
    await bareRepoFrom(path.join(EXAMPLES, "app"), path.join(root, "outside.git"));
    const s = await serve();
    // Plain "/../" is normalized away by URL parsing (it stays inside the root); an encoded
    // slash survives parsing and must be refused.
    const res = await rawGet(s, "/x/..%2f..%2foutside.git/info/refs?service=git-upload-pack");
    expect(res.status).toBe(400);
    const normalized = await rawGet(s, "/../outside.git/info/refs?service=git-upload-pack");
    expect(normalized.status).toBe(404);
  });

  it("refuses to push (no receive-pack without an authenticated user)", async () => {
    const s = await serve();
    const work = path.join(root, "push-work");
    await git(["clone", "-q", s.repoUrl("app.git"), work]);
    const res = await git(["-C", work, "push", "-q", "origin", "HEAD:refs/heads/other"]);
    expect(res.code).not.toBe(0);
    // the server records a request when its answer has been sent, which can be just after the
    // client has read it and exited: give the record a moment under load
    const refused = () => s.requests.some((r) => r.service === "git-receive-pack" && r.status === 403);
    for (let i = 0; i < 40 && !refused(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(refused(), `${res.stderr} ${JSON.stringify(s.requests)}`).toBe(true);
  });
});

describe("faults", () => {
  it("down: git fails fast with connection refused, and works again on the same port when up", async () => {
    const s = await serve();
    await s.setFault({ down: true });
    expect(s.fault).toEqual({ down: true });
    const t0 = Date.now();
    const res = await git(["ls-remote", s.repoUrl("app.git")]);
    const took = Date.now() - t0;
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/Failed to connect|Connection refused|Couldn't connect/i);
    expect(took).toBeLessThan(20_000); // refused at once, not a hang (a generous bound)

    const clone = await git(["clone", "-q", "--depth", "1", s.repoUrl("app.git"), path.join(root, "down")]);
    expect(clone.code).not.toBe(0);
    expect(existsSync(path.join(root, "down", "server.js"))).toBe(false);

    await s.setFault({});
    const again = await git(["ls-remote", s.repoUrl("app.git")]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(appHead);
    expect(new URL(s.url).port).toBe(String(s.port));
  });

  it("down: an open keep-alive connection is cut too", async () => {
    const s = await serve();
    const { socketClosed } = await openKeepAlive(s);
    await s.setFault({ down: true });
    await expect(socketClosed).resolves.toBe(true);
  });

  it("slow: every answer waits at least delayMs", async () => {
    const s = await serve();
    await s.setFault({ delayMs: 600 });
    const t0 = Date.now();
    const res = await git(["ls-remote", s.repoUrl("app.git")]);
    const took = Date.now() - t0;
    expect(res.code).toBe(0);
    expect(took).toBeGreaterThanOrEqual(600);
    expect(s.requests.length).toBeGreaterThan(0);
    expect(s.requests.every((r) => r.fault === "delay" && r.durationMs >= 590)).toBe(true);

    await s.setFault(undefined);
    const before = s.requests.length;
    expect((await git(["ls-remote", s.repoUrl("app.git")])).code).toBe(0);
    // answered without the delay: the requests after the fault was cleared carry none
    const after = s.requests.slice(before);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((r) => r.fault === undefined)).toBe(true);
  });

  it("status: every request gets that status and git fails naming it", async () => {
    const s = await serve();
    await s.setFault({ status: 503 });
    const res = await git(["ls-remote", s.repoUrl("app.git")]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/503/);
    expect(s.requests.at(-1)).toMatchObject({ status: 503, fault: "status" });
  });

  it("rejects a nonsensical fault", async () => {
    const s = await serve();
    await expect(s.setFault({ delayMs: -1 })).rejects.toThrow(InputError);
    await expect(s.setFault({ status: 42 })).rejects.toThrow(InputError);
  });
});

describe("lifecycle", () => {
  it("needs an existing project root", async () => {
    await expect(startGitServer({ projectRoot: path.join(root, "missing") })).rejects.toThrow(
      /projectRoot .* is not a directory/,
    );
  });

  it("close stops listening", async () => {
    const s = await startGitServer({ projectRoot });
    await s.close();
    const res = await git(["ls-remote", s.repoUrl("app.git")]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/Failed to connect|Connection refused|Couldn't connect/i);
  });

  it("close while a delayed request waits ends it without an answer", async () => {
    const s = await startGitServer({ projectRoot });
    await s.setFault({ delayMs: 120_000 });
    const pending = rawGet(s, "/app.git/info/refs?service=git-upload-pack").catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await s.close();
    const res = await pending;
    expect(res).toBeInstanceOf(Error);
    // the delayed answer would come after two minutes: close ended it
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});

describe("CGI plumbing (pure)", () => {
  it("splits the header block on a blank line, CRLF or LF", () => {
    const a = splitCgiHeaders(Buffer.from("Status: 200 OK\r\nContent-Type: x\r\n\r\nBODY"));
    expect(a?.head).toBe("Status: 200 OK\r\nContent-Type: x");
    expect(a?.body.toString()).toBe("BODY");
    const b = splitCgiHeaders(Buffer.from("Content-Type: x\n\n\0\x01binary"));
    expect(b?.body).toEqual(Buffer.from("\0\x01binary"));
    expect(splitCgiHeaders(Buffer.from("Content-Type: x\r\n"))).toBeUndefined();
  });

  it("parses Status and keeps repeated headers", () => {
    expect(parseCgiHeaders("Status: 404 Not Found\r\nContent-Type: text/plain")).toEqual({
      status: 404,
      statusText: "Not Found",
      headers: [["Content-Type", "text/plain"]],
    });
    expect(parseCgiHeaders("Expires: 0\nPragma: no-cache\nPragma: x").headers).toHaveLength(3);
    expect(parseCgiHeaders("Content-Type: a").status).toBe(200);
    expect(parseCgiHeaders("Location: /x").status).toBe(302);
    expect(() => parseCgiHeaders("Status: abc")).toThrow(/malformed CGI Status/);
    expect(() => parseCgiHeaders("no colon here")).toThrow(/malformed CGI header/);
  });

  it("builds the CGI environment from the request", () => {
    const env = cgiEnvironment(
      {
        method: "POST",
        url: "/app.git/git-upload-pack?x=1",
        headers: {
          "content-type": "application/x-git-upload-pack-request",
          "content-length": "123",
          "git-protocol": "version=2",
          "content-encoding": "gzip",
        },
        remoteAddress: "127.77.0.3",
      },
      "/srv/repos",
      { PATH: "/usr/bin", HOME: "/root", GIT_DIR: "/leak", SECRET: "no" },
    );
    expect(env).toMatchObject({
      GIT_PROJECT_ROOT: "/srv/repos",
      GIT_HTTP_EXPORT_ALL: "1",
      REQUEST_METHOD: "POST",
      PATH_INFO: "/app.git/git-upload-pack",
      QUERY_STRING: "x=1",
      CONTENT_TYPE: "application/x-git-upload-pack-request",
      CONTENT_LENGTH: "123",
      GIT_PROTOCOL: "version=2",
      HTTP_CONTENT_ENCODING: "gzip",
      REMOTE_ADDR: "127.77.0.3",
      PATH: "/usr/bin",
    });
    expect(env.GIT_DIR).toBeUndefined();
    expect(env.SECRET).toBeUndefined();
    const get = cgiEnvironment(
      { method: "GET", url: "/a.git/info/refs", headers: {}, remoteAddress: "" },
      "/r",
    );
    expect(get.CONTENT_LENGTH).toBeUndefined();
    expect(get.CONTENT_TYPE).toBeUndefined();
    expect(get.GIT_PROTOCOL).toBeUndefined();
    expect(get.QUERY_STRING).toBe("");
  });
});

function rawGet(s: GitServer, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: s.host, port: s.port, path: target, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("timed out")));
    req.end();
  });
}

/**
 * One answered request on a kept-alive socket; `socketClosed` resolves true when the server cuts
 * it within 900 ms (less than the server's 1 s keep-alive timeout, so only a cut can close it).
 */
function openKeepAlive(s: GitServer): Promise<{ socketClosed: Promise<boolean> }> {
  const agent = new Agent({ keepAlive: true });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: s.host,
        port: s.port,
        path: "/app.git/info/refs?service=git-upload-pack",
        agent,
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          const socket = req.socket!;
          expect(socket.destroyed).toBe(false);
          const socketClosed = new Promise<boolean>((done) => {
            socket.once("close", () => done(true));
            setTimeout(() => done(false), 900);
          }).finally(() => agent.destroy());
          resolve({ socketClosed });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}
