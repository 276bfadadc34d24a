/**
 * What listens on a supervisor's socket path is checked, not trusted: an answer that is not the
 * protocol (garbage, JSON of another shape, an endless line) fails the request with one clear
 * line, in the client and through `muster converge`. And socket files do not outlive their
 * supervisor: removed when it stops, and when it is found dead after a SIGKILL.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RunError } from "../core/errors.ts";
import { cleanupTmp, muster, tmpDir } from "../test-support/tmp.ts";
import {
  ensureSupervisor,
  processAlive,
  stopStartedSupervisors,
  stopSupervisor,
  supervisorRequest,
  supervisorStatus,
} from "./supervisor-client.ts";
import { MAX_SOCKET_PATH } from "./supervisor-policy.ts";

const servers: net.Server[] = [];
const roots: string[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await stopStartedSupervisors();
  await Promise.all(roots.splice(0).map((r) => stopSupervisor(r).catch(() => false)));
});
afterAll(cleanupTmp);

/**
 * A root whose supervisor socket path is taken by a listener that is not muster's supervisor,
 * with an info file naming a live process (this one), as after a start that found the path taken.
 */
async function rootWithImpostor(
  answer: (sock: net.Socket) => void,
): Promise<{ root: string; socket: string }> {
  const root = tmpDir("muster-sv-fake-");
  const socket = path.join(root, "run/muster/supervisor.sock");
  mkdirSync(path.dirname(socket), { recursive: true });
  const server = net.createServer((sock) => {
    sock.on("error", () => {});
    sock.once("data", () => answer(sock));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(socket, r));
  writeFileSync(path.join(root, "run/muster/supervisor.json"), JSON.stringify({ pid: process.pid, socket }));
  return { root, socket };
}

/** What the promise rejected with (a promise that resolves fails the test). */
const failure = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => expect.fail("expected the request to fail"),
    (err: Error) => err,
  );

describe("an answer that is not the supervisor protocol", () => {
  it("garbage: a RunError naming the socket and what came (cut short)", async () => {
    const { root, socket } = await rootWithImpostor((s) =>
      s.end(`HTTP/1.1 400 Bad Request${"!".repeat(300)}\r\n`),
    );
    const err = await failure(supervisorRequest(root, { op: "ping" }, 5000));
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toContain(`the supervisor socket ${socket} answered "HTTP/1.1 400 Bad Request!!!`);
    expect(err.message).toMatch(/\.\.\.", which is not muster's supervisor protocol \(not JSON\)/);
    expect(err.message).not.toContain("!".repeat(200));
    expect(err.message.split("\n")).toHaveLength(1);
    // the readers and the starter report it too, instead of taking it for "no supervisor"
    expect((await failure(supervisorStatus(root))).message).toMatch(/not muster's supervisor protocol/);
    expect((await failure(ensureSupervisor(root))).message).toMatch(/not muster's supervisor protocol/);
  });

  it("JSON of the wrong shape", async () => {
    const { root } = await rootWithImpostor((s) => s.end('{"ok":true,"services":[1]}\n'));
    const err = await failure(supervisorRequest(root, { op: "status" }, 5000));
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toMatch(
      /answered "\{\\"ok\\":true,\\"services\\":\[1\]\}", which is not muster's supervisor protocol \(reply: /,
    );
  });

  it("an answer without end: the client stops reading at its bound", async () => {
    const { root } = await rootWithImpostor((s) => {
      const chunk = "x".repeat(64 * 1024);
      const pump = () => {
        while (!s.destroyed && s.write(chunk));
        if (!s.destroyed) s.once("drain", pump);
      };
      pump();
    });
    const err = await failure(supervisorRequest(root, { op: "ping" }, 10_000));
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toMatch(/sent more than \d+ characters without ending its answer/);
  });

  it("muster converge: the service resource fails with one line, exit 1, no stack trace", async () => {
    const { root, socket } = await rootWithImpostor((s) => s.end("SSH-2.0-OpenSSH_9.6\r\n"));
    const repo = tmpDir("muster-repo-");
    mkdirSync(path.join(repo, "roles"));
    mkdirSync(path.join(repo, "recipes"));
    writeFileSync(
      path.join(repo, "roles/web.json"),
      JSON.stringify({ name: "web", run_list: ["recipe[app]"] }),
    );
    writeFileSync(
      path.join(repo, "recipes/app.ts"),
      `import { recipe } from "muster";
export default recipe("app", ({ service }) => {
  service("app", { running: true, unit: { execStart: ["sleep", "1000"] } });
});
`,
    );
    const res = await muster(["converge", "--repo", repo, "--role", "web", "--root", root]);
    expect(res.code, res.stdout + res.stderr).toBe(1);
    const all = res.stdout + res.stderr;
    expect(all).not.toMatch(/\n\s+at /);
    expect(all).not.toMatch(/SyntaxError/);
    const lines = all.split("\n").filter((l) => l.includes("not muster's supervisor protocol"));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toContain(`the supervisor socket ${socket} answered "SSH-2.0-OpenSSH_9.6\\r"`);
    expect(lines[0]).toMatch(/service\[app\]/);
  });
});

describe("socket files do not outlive their supervisor", () => {
  const infoOf = (root: string) =>
    JSON.parse(readFileSync(path.join(root, "run/muster/supervisor.json"), "utf8")) as {
      pid: number;
      socket: string;
    };
  const isSocket = (file: string) => lstatSync(file, { throwIfNoEntry: false })?.isSocket() === true;

  async function running(deep: boolean): Promise<{ root: string; pid: number; socket: string }> {
    let root = tmpDir("muster-sv-sock-");
    if (deep) root = path.join(root, "d".repeat(MAX_SOCKET_PATH));
    mkdirSync(root, { recursive: true });
    roots.push(root);
    await ensureSupervisor(root);
    const { pid, socket } = infoOf(root);
    expect(isSocket(socket)).toBe(true);
    return { root, pid, socket };
  }

  async function killed(deep: boolean) {
    const r = await running(deep);
    process.kill(r.pid, "SIGKILL");
    const deadline = Date.now() + 5000;
    while (processAlive(r.pid) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(isSocket(r.socket)).toBe(true); // a killed one cannot tidy up
    return r;
  }

  it("stopped: no socket file (a deep root's, in the temp dir)", async () => {
    const { root, socket } = await running(true);
    expect(socket.startsWith("/tmp/")).toBe(true);
    expect(await stopSupervisor(root)).toBe(true);
    expect(existsSync(socket)).toBe(false);
  });

  it("killed with SIGKILL: the next client call removes its socket", async () => {
    const { root, socket } = await killed(true);
    expect(await supervisorStatus(root)).toBeUndefined();
    expect(existsSync(socket)).toBe(false);
  });

  it("killed with SIGKILL: `muster supervise stop` removes its socket", async () => {
    const { root, socket } = await killed(false);
    const res = await muster(["supervise", "stop", "--root", root]);
    expect(res.stdout).toBe(`muster: no supervisor runs for ${root}\n`);
    expect(existsSync(socket)).toBe(false);
  });
});
