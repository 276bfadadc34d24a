/**
 * A dry run fails where the run would, with the run's error: what the apply refuses (a directory
 * where a file or link goes, a directory to delete that is not empty, a file where a parent
 * directory goes, an owner that does not exist), and not where an earlier resource of the same
 * run would have cleared the way.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { convergeDecls, type Decl } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir, treeHash } from "../test-support/tmp.ts";

afterEach(cleanupTmp);

/** A run's outcome, a dry run's "would-update" read as the run's "updated". */
const outcome = (r: Awaited<ReturnType<typeof convergeDecls>>) => [
  r.outcome,
  ...r.resources.map(
    (x) => `${x.id} ${x.status.replace("would-update", "updated")}${x.error ? `: ${x.error}` : ""}`,
  ),
];

/** The dry run's outcome (nothing changed), then the run's: both fail alike, with `error`. */
async function failsAlike(setup: (root: string) => void, decls: Decl[], error: string | RegExp) {
  const root = tmpDir();
  setup(root);
  const before = treeHash(root);
  const dry = await convergeDecls(root, decls, { dryRun: true });
  expect(treeHash(root)).toBe(before);
  const real = await convergeDecls(root, decls);
  expect(real.outcome).toBe("failed");
  expect(outcome(dry)).toEqual(outcome(real));
  expect(dry.error).toMatch(error);
}

const dir = (root: string, p: string) => mkdirSync(path.join(root, p), { recursive: true });

describe("a dry run fails with the error the run gives", () => {
  it("a directory where a file or a template is to be written, or a file deleted", async () => {
    const decls = (f: Decl): Decl[] => [{ kind: "directory", name: "/d" }, f];
    for (const f of [
      { kind: "file", name: "/d/f", props: { content: "hi\n" } },
      { kind: "file", name: "/d/f", props: { action: "delete" } },
      { kind: "template", name: "/d/f", props: { source: "t.eta" } },
    ] as Decl[]) {
      const repo = tmpDir();
      mkdirSync(path.join(repo, "templates"));
      writeFileSync(path.join(repo, "templates/t.eta"), "t\n");
      const root = tmpDir();
      dir(root, "d/f");
      const dry = await convergeDecls(root, decls(f), { dryRun: true, repoDir: repo });
      const real = await convergeDecls(root, decls(f), { repoDir: repo });
      expect(real.outcome).toBe("failed");
      expect(outcome(dry)).toEqual(outcome(real));
      expect(dry.error).toMatch(
        f.props?.action === "delete"
          ? "/d/f is a directory, not a file; remove it by hand"
          : "/d/f is a directory; remove it or choose another path",
      );
    }
  });

  it("a directory where a link is to be made", async () => {
    await failsAlike(
      (root) => dir(root, "d/l"),
      [
        { kind: "directory", name: "/d" },
        { kind: "link", name: "/d/l", props: { to: "f" } },
      ],
      "link[/d/l] (recipe test): /d/l is a directory; remove it before making a link there",
    );
  });

  it("a directory to delete without recursive that is not empty", async () => {
    await failsAlike(
      (root) => {
        dir(root, "d/sub");
        writeFileSync(path.join(root, "d/sub/x"), "x\n");
      },
      [{ kind: "directory", name: "/d/sub", props: { action: "delete" } }],
      "/d/sub is not empty; set recursive: true to delete it with its contents",
    );
    // not empty by what an earlier resource would make in it
    await failsAlike(
      (root) => dir(root, "d"),
      [
        { kind: "file", name: "/d/f", props: { content: "x" } },
        { kind: "directory", name: "/d", props: { action: "delete" } },
      ],
      "/d is not empty; set recursive: true",
    );
  });

  it("a file where a directory made with its parents needs a directory: named inside the root", async () => {
    await failsAlike(
      (root) => {
        dir(root, "d");
        writeFileSync(path.join(root, "d/sub"), "data\n");
      },
      [{ kind: "directory", name: "/d/sub/deep/er", props: { recursive: true } }],
      /^directory\[\/d\/sub\/deep\/er\] \(recipe test\): \/d\/sub is a file, not a directory, so directory \/d\/sub\/deep\/er cannot be made under it; remove it first \(file\("\/d\/sub", \{ action: "delete" \}\)\) or choose another path$/,
    );
  });

  it("an owner or group that does not exist: file, template, directory, execute", async () => {
    const repo = tmpDir();
    mkdirSync(path.join(repo, "templates"));
    writeFileSync(path.join(repo, "templates/t.eta"), "t\n");
    for (const [d, error] of [
      [{ kind: "file", name: "/ok/b", props: { owner: "no-such-user-xyz" } }, 'user "no-such-user-xyz"'],
      [
        { kind: "template", name: "/ok/b", props: { source: "t.eta", group: "no-such-group-xyz" } },
        'group "no-such-group-xyz"',
      ],
      [{ kind: "directory", name: "/ok/c", props: { owner: "no-such-user-xyz" } }, 'user "no-such-user-xyz"'],
      [{ kind: "execute", name: "true", props: { user: "no-such-user-xyz" } }, 'user "no-such-user-xyz"'],
    ] as [Decl, string][]) {
      const root = tmpDir();
      const decls: Decl[] = [{ kind: "directory", name: "/ok" }, d];
      const dry = await convergeDecls(root, decls, { dryRun: true, repoDir: repo });
      expect(readdirSync(root)).toEqual([]);
      const real = await convergeDecls(root, decls, { repoDir: repo });
      expect(real.outcome).toBe("failed");
      expect(outcome(dry)).toEqual(outcome(real));
      expect(dry.error).toContain(`${error} does not exist in `);
    }
  });
});

describe("a dry run does not fail where an earlier resource clears the way", () => {
  it("a directory deleted before a file is written there; a directory emptied before it is deleted", async () => {
    const root = tmpDir();
    dir(root, "d/f/y");
    dir(root, "d/sub");
    writeFileSync(path.join(root, "d/sub/x"), "x\n");
    writeFileSync(path.join(root, "d/file"), "x\n");
    const decls: Decl[] = [
      { kind: "directory", name: "/d/f", props: { action: "delete", recursive: true } },
      { kind: "file", name: "/d/f", props: { content: "x\n" } },
      { kind: "file", name: "/d/sub/x", props: { action: "delete" } },
      { kind: "directory", name: "/d/sub", props: { action: "delete" } },
      { kind: "file", name: "/d/file", props: { action: "delete" } },
      { kind: "directory", name: "/d/file/deep", props: { recursive: true } },
    ];
    const dry = await convergeDecls(root, decls, { dryRun: true });
    expect(dry.outcome, dry.error).toBe("converged");
    const real = await convergeDecls(root, decls);
    expect(real.outcome, real.error).toBe("converged");
  });

  it("a directory removed by an earlier resource is not there for a file made in it", async () => {
    await failsAlike(
      (root) => dir(root, "d"),
      [
        { kind: "directory", name: "/d", props: { action: "delete" } },
        { kind: "file", name: "/d/f", props: { content: "x" } },
      ],
      "parent directory /d does not exist",
    );
  });

  it("an owner a user resource before would create: the dry run says it would use that user", async () => {
    const root = tmpDir();
    dir(root, "etc");
    writeFileSync(path.join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    writeFileSync(path.join(root, "etc/group"), "root:x:0:\n");
    const decls = (loginDefs: string): Decl[] => {
      writeFileSync(path.join(root, "etc/login.defs"), loginDefs);
      return [
        { kind: "user", name: "app-xyz" },
        { kind: "group", name: "ops-xyz" },
        { kind: "file", name: "/app.conf", props: { owner: "app-xyz", group: "ops-xyz" } },
        { kind: "directory", name: "/app", props: { group: "app-xyz" } },
      ];
    };
    const dry = await convergeDecls(root, decls("USERGROUPS_ENAB yes\n"), { dryRun: true });
    expect(dry.outcome, dry.error).toBe("converged");
    expect(dry.resources.map((r) => r.note)).toEqual([
      undefined,
      undefined,
      "would use user app-xyz, which user[app-xyz] would create; would use group ops-xyz, which group[ops-xyz] would create",
      "would use group app-xyz, which user[app-xyz] would create",
    ]);
    // useradd makes no group named like the user where the root's login.defs does not say so
    const without = await convergeDecls(root, decls("# USERGROUPS_ENAB yes\n"), { dryRun: true });
    expect(without.error).toBe(
      `directory[/app] (recipe test): group "app-xyz" does not exist in ${path.join(root, "etc/group")}`,
    );
  });
});

describe("a dry run says what its command guards assumed", () => {
  it("a guard read after changes the dry run does not make says so; one with nothing before it does not", async () => {
    const root = tmpDir();
    const report = await convergeDecls(
      root,
      [
        { kind: "execute", name: "first", props: { command: ["true"] }, common: { notIf: "test -e w" } },
        { kind: "directory", name: "/w" },
        { kind: "execute", name: "after", props: { command: ["true"] }, common: { notIf: "test -e w" } },
        { kind: "execute", name: "skipped", props: { command: ["true"] }, common: { onlyIf: "test -e w" } },
      ],
      { dryRun: true },
    );
    const notes = Object.fromEntries(report.resources.map((r) => [r.id, [r.status, r.note]]));
    // before any change: nothing assumed
    expect(notes["execute[first]"]).toEqual(["would-update", undefined]);
    // /w would exist by then in the run: this guard would say "skip" there, and the dry run says why it may differ
    expect(notes["execute[after]"]).toEqual([
      "would-update",
      "its guard read the host as it is now, without the 2 change(s) above, which a dry run does not make",
    ]);
    expect(notes["execute[skipped]"]).toEqual([
      "skipped",
      "skipped: onlyIf guard is false; its guard read the host as it is now, without the 3 change(s) above, which a dry run does not make",
    ]);
  });
});
