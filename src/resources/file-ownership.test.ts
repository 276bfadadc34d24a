/**
 * Mode and owner of files and directories that already exist, checked on disk under a
 * temporary root: changed in place when the props ask, kept when only the content is rewritten.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { convergeDecls, type Decl } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";

afterEach(cleanupTmp);

const isRoot = process.getuid?.() === 0;
const WEB = 1234;

/** A root with /etc/app holding app.conf, and an account "web" (1234) of its own. */
function rootWithFile(content: string, mode: number): string {
  const root = tmpDir();
  mkdirSync(path.join(root, "etc/app"), { recursive: true });
  writeFileSync(
    path.join(root, "etc/passwd"),
    `root:x:0:0::/root:/bin/sh\nweb:x:${WEB}:${WEB}::/srv:/bin/sh\n`,
  );
  writeFileSync(path.join(root, "etc/group"), `root:x:0:\nweb:x:${WEB}:\n`);
  const file = path.join(root, "etc/app/app.conf");
  writeFileSync(file, content);
  chmodSync(file, mode);
  return root;
}

const onDisk = (root: string, p = "etc/app/app.conf") => {
  const st = statSync(path.join(root, p));
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
};

const conf = (props: Record<string, unknown>): Decl[] => [{ kind: "file", name: "/etc/app/app.conf", props }];

describe("mode of an existing file, on disk", () => {
  it("same content, another mode: the mode is changed in place", async () => {
    const root = rootWithFile("port = 80\n", 0o644);
    const report = await convergeDecls(root, conf({ content: "port = 80\n", mode: "0600" }));
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources[0].changes.map((c) => c.what)).toEqual(["set mode to 0600 (was 0644)"]);
    expect(onDisk(root).mode).toBe(0o600);
  });

  it("a 0600 file whose content is rewritten stays 0600 when the props name no mode", async () => {
    const root = rootWithFile("password = old\n", 0o600);
    const report = await convergeDecls(root, conf({ content: "password = new\n" }));
    expect(report.outcome, report.error).toBe("converged");
    expect(readFileSync(path.join(root, "etc/app/app.conf"), "utf8")).toBe("password = new\n");
    expect(onDisk(root).mode).toBe(0o600);
  });

  it("a rewritten file takes the mode the props name", async () => {
    const root = rootWithFile("a\n", 0o600);
    await convergeDecls(root, conf({ content: "b\n", mode: "0640" }));
    expect(onDisk(root).mode).toBe(0o640);
  });

  it("an existing directory's mode is changed in place", async () => {
    const root = rootWithFile("x\n", 0o644);
    chmodSync(path.join(root, "etc/app"), 0o755);
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/etc/app", props: { mode: "0750" } },
    ]);
    expect(report.outcome, report.error).toBe("converged");
    expect(onDisk(root, "etc/app").mode).toBe(0o750);
  });
});

describe("owner of an existing file, on disk", () => {
  it.skipIf(!isRoot)(
    "(needs root to chown: skipped when not root) same content, another owner: chowned in place",
    async () => {
      const root = rootWithFile("port = 80\n", 0o640);
      const report = await convergeDecls(root, conf({ content: "port = 80\n", owner: "web", group: "web" }));
      expect(report.outcome, report.error).toBe("converged");
      expect(report.resources[0].changes.map((c) => c.what)).toEqual([
        "set owner to web (was root)",
        "set group to web (was root)",
      ]);
      expect(onDisk(root)).toEqual({ mode: 0o640, uid: WEB, gid: WEB });
    },
  );

  it.skipIf(!isRoot)(
    "(needs root to chown: skipped when not root) a rewritten file keeps its owner, group and mode",
    async () => {
      const root = rootWithFile("old\n", 0o600);
      chownSync(path.join(root, "etc/app/app.conf"), WEB, WEB);
      const report = await convergeDecls(root, conf({ content: "new\n" }));
      expect(report.outcome, report.error).toBe("converged");
      expect(onDisk(root)).toEqual({ mode: 0o600, uid: WEB, gid: WEB });
    },
  );

  it.skipIf(!isRoot)(
    "(needs root to chown: skipped when not root) an existing directory is chowned in place",
    async () => {
      const root = rootWithFile("x\n", 0o644);
      const report = await convergeDecls(root, [
        { kind: "directory", name: "/etc/app", props: { owner: "web", group: WEB } },
      ]);
      expect(report.outcome, report.error).toBe("converged");
      expect(onDisk(root, "etc/app")).toMatchObject({ uid: WEB, gid: WEB });
    },
  );
});
