import { chmodSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { privateDirProblem, privateRuntimeDir, runtimeDirCandidates } from "../../host/private-dir.ts";
import { cleanupTmp, tmpDir } from "../../test-support/tmp.ts";
import { controlSocketPath } from "./control.ts";

afterEach(() => cleanupTmp());
const uid = process.geteuid?.() ?? 0;

describe("the control socket's path", () => {
  it("is in the state directory when the path fits a unix socket", () => {
    expect(controlSocketPath("/srv/state")).toBe("/srv/state/control.sock");
  });

  it("too long, it goes to a checked private directory, never a shared name in /tmp", () => {
    const long = `/srv/${"s".repeat(120)}`;
    const xdg = tmpDir();
    const tmp = tmpDir();
    // another user got there first: the runtime directory open to all
    const taken = path.join(xdg, "muster");
    mkdirSync(taken);
    chmodSync(taken, 0o777);
    const env = { XDG_RUNTIME_DIR: xdg };
    // without /run/muster: a test must not make it on the host
    const candidates = runtimeDirCandidates(uid, env, [tmp]).filter((c) => c.base !== "/run");
    const socket = controlSocketPath(long, () => privateRuntimeDir(env, [tmp], candidates));
    expect(path.basename(socket)).toMatch(/^fleet-[0-9a-f]{16}\.sock$/);
    expect(path.dirname(socket)).not.toBe(taken);
    expect(path.dirname(socket)).not.toBe(tmp);
    expect(privateDirProblem(path.dirname(socket))).toBeUndefined();
    // the same state directory, the same socket (the daemon records it in fleet.json)
    expect(controlSocketPath(long, () => privateRuntimeDir(env, [tmp], candidates))).toBe(socket);
  });
});
