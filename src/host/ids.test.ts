import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { idResolver } from "./ids.ts";

afterEach(cleanupTmp);

describe("user and group names", () => {
  it("are read from the root's own files, and a missing name says which file was read", () => {
    const root = tmpDir();
    // no /etc/passwd in the root: the host's is what was read
    expect(() => idResolver(root).uid("no-such-user-x")).toThrow(
      'user "no-such-user-x" does not exist in /etc/passwd',
    );
    mkdirSync(path.join(root, "etc"));
    writeFileSync(path.join(root, "etc/passwd"), "deploy:x:2001:2002:Deploy:/home/deploy:/bin/sh\n");
    writeFileSync(path.join(root, "etc/group"), "deploy:x:2002:\n");
    const ids = idResolver(root);
    expect(ids.uid("deploy")).toBe(2001);
    expect(ids.gid("deploy")).toBe(2002);
    expect(ids.account?.("deploy")).toEqual({ name: "deploy", uid: 2001, gid: 2002, home: "/home/deploy" });
    expect(ids.account?.(2001)?.name).toBe("deploy");
    expect(() => ids.uid("root")).toThrow(`user "root" does not exist in ${root}/etc/passwd`);
  });
});
