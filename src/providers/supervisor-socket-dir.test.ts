/**
 * A deep root's supervisor socket lives in this user's private directory (base/muster-<uid>,
 * /tmp in use): one another user made first, where they could listen on the socket's name, is
 * refused by the client and by the supervisor, and no request ever reaches what listens there.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RunError } from "../core/errors.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { removeDeadSupervisorSocket, supervisorRequest } from "./supervisor-client.ts";
import { runSupervisor } from "./supervisor-daemon.ts";
import { fallbackSocketName, MAX_SOCKET_PATH } from "./supervisor-policy.ts";
import { supervisorSocketPath } from "./supervisor-socket-path.ts";

const uid = process.geteuid?.() ?? 0;
const isRoot = uid === 0;
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
afterAll(cleanupTmp);

/** A root too deep for a socket of its own, with an info file naming a live process (this one). */
function deepRoot(): string {
  const root = path.join(tmpDir("muster-sv-deep-"), "d".repeat(MAX_SOCKET_PATH));
  mkdirSync(path.join(root, "run/muster"), { recursive: true });
  writeFileSync(path.join(root, "run/muster/supervisor.json"), JSON.stringify({ pid: process.pid }));
  return root;
}

/**
 * Another user's move: make base/muster-<uid> first (`prepare` makes it theirs), and listen
 * there on the name the root's supervisor socket gets. Counts the connections it receives.
 */
async function planted(root: string, prepare: (dir: string) => void) {
  const base = tmpDir("muster-sv-base-");
  const dir = path.join(base, `muster-${uid}`);
  mkdirSync(dir);
  const socket = path.join(dir, fallbackSocketName(root));
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.on("error", () => {});
    s.end('{"ok":true,"pid":1,"services":{}}\n');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(socket, r));
  prepare(dir);
  return { base, dir, socket, received: () => connections };
}

const failure = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => expect.fail("expected a refusal"),
    (err: Error) => err,
  );

async function refusedEverywhere(prepare: (dir: string) => void, why: RegExp): Promise<void> {
  const root = deepRoot();
  const { base, dir, socket, received } = await planted(root, prepare);
  const line = new RegExp(
    `^the supervisor socket's directory: ${dir} ${why.source}: another user may have made it first .*; remove it \\(rm -r ${dir}\\) and run again$`,
  );
  expect(() => supervisorSocketPath(root, base)).toThrow(line);

  const req = await failure(supervisorRequest(root, { op: "status" }, 2000, base));
  expect(req).toBeInstanceOf(RunError);
  expect(req.message).toMatch(line);

  const sup = await failure(runSupervisor({ root, socketBase: base }));
  expect(sup).toBeInstanceOf(RunError);
  expect(sup.message).toMatch(line);

  // a supervisor found dead: what is in their directory is not ours to remove
  writeFileSync(path.join(root, "run/muster/supervisor.json"), JSON.stringify({ pid: 2 ** 22 + 1 }));
  expect(removeDeadSupervisorSocket(root, base)).toBe(false);

  expect(received()).toBe(0);
  expect(lstatSync(socket).isSocket()).toBe(true); // theirs, left as it is
  expect(existsSync(path.join(root, "run/muster/supervisor.lock"))).toBe(false); // refused before the lock
}

describe("a deep root's supervisor socket directory", () => {
  it("is base/muster-<uid>, 0700 and owned by the caller", () => {
    const root = deepRoot();
    const base = tmpDir("muster-sv-base-");
    const socket = supervisorSocketPath(root, base);
    expect(socket).toBe(path.join(base, `muster-${uid}`, fallbackSocketName(root)));
    const st = statSync(path.dirname(socket));
    expect(st.mode & 0o7777).toBe(0o700);
    expect(st.uid).toBe(uid);
    expect(supervisorSocketPath(root, base)).toBe(socket);
  });

  it("made first open to all (mode 777) with a listener in it: refused by the client and the supervisor, no request sent", async () => {
    await refusedEverywhere((dir) => chmodSync(dir, 0o777), /is writable by its group \(mode 777\)/);
  });

  it.runIf(isRoot)(
    "made first by another user (chown to nobody: needs root, skipped otherwise): refused the same way",
    async () => {
      await refusedEverywhere(
        (dir) => chownSync(dir, 65534, 65534),
        /is owned by uid 65534, not by this user \(uid 0\)/,
      );
    },
  );
});
