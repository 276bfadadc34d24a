import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bareRepoFrom } from "../demo/example-repos.ts";
import { convergeDecls, type Decl } from "../test-support/harness.ts";
import { cleanupTmp, REPO_ROOT, tmpDir } from "../test-support/tmp.ts";

afterEach(cleanupTmp);

/** Every leftover temporary file of an atomic write under `dir`. */
function leftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.includes(".muster-"));
}

const files = (dir: string, names: string[], content = (n: string) => `${n}\n`): Decl[] =>
  names.map((n) => ({ kind: "file", name: `${dir}/${n}`, props: { content: content(n) } }));

describe("file writes grouped between fsyncs", () => {
  it("converges more files than one group holds, reports them in declaration order, leaves no temporary file", async () => {
    const root = tmpDir();
    const names = Array.from({ length: 300 }, (_, i) => `f${i}`);
    const decls: Decl[] = [
      { kind: "directory", name: "/d", props: { mode: "0755" } },
      ...files("/d", names.slice(0, 150)),
      { kind: "link", name: "/d/link", props: { to: "/d/f0" } },
      ...files("/d", names.slice(150)),
    ];
    const first = await convergeDecls(root, decls);
    expect(first.outcome).toBe("converged");
    expect(first.resources.map((r) => r.id)).toEqual(decls.map((d) => `${d.kind}[${d.name}]`));
    expect(first.resources.every((r) => r.status === "updated")).toBe(true);
    for (const n of names) expect(readFileSync(path.join(root, "d", n), "utf8")).toBe(`${n}\n`);
    expect(leftovers(root)).toEqual([]);
    const second = await convergeDecls(root, decls);
    expect(second.totals.updated).toBe(0);
    expect(second.totals.upToDate).toBe(decls.length);
  });

  it("a failure inside a group: the files before it are written, none after it, no temporary file left", async () => {
    const root = tmpDir();
    const decls: Decl[] = [
      { kind: "directory", name: "/d" },
      ...files("/d", ["a1", "a2", "a3"]),
      { kind: "file", name: "/missing/dir/x", props: { content: "x" } },
      ...files("/d", ["b1", "b2"]),
    ];
    const report = await convergeDecls(root, decls);
    expect(report.outcome).toBe("failed");
    expect(report.error).toMatch(/file\[\/missing\/dir\/x\].*parent directory \/missing\/dir does not exist/);
    expect(report.resources.map((r) => `${r.id} ${r.status}`)).toEqual([
      "directory[/d] updated",
      "file[/d/a1] updated",
      "file[/d/a2] updated",
      "file[/d/a3] updated",
      "file[/missing/dir/x] failed",
    ]);
    expect(readdirSync(path.join(root, "d")).sort()).toEqual(["a1", "a2", "a3"]);
    expect(leftovers(root)).toEqual([]);
  });

  it("ignoreFailure inside a group: the run goes on and writes the files after it", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/d" },
      ...files("/d", ["a1"]),
      { kind: "file", name: "/missing/x", props: { content: "x" }, common: { ignoreFailure: true } },
      ...files("/d", ["b1"]),
    ]);
    expect(report.outcome).toBe("converged");
    expect(report.resources.map((r) => r.status)).toEqual(["updated", "updated", "failed", "updated"]);
    expect(readdirSync(path.join(root, "d")).sort()).toEqual(["a1", "b1"]);
    expect(leftovers(root)).toEqual([]);
  });

  it("the same path twice: the second resource sees the first one's file", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/d" },
      { kind: "file", name: "/d/x", props: { content: "one\n" } },
      { kind: "file", name: "/d/x", props: { content: "two\n" } },
    ]);
    expect(report.outcome).toBe("converged");
    const second = report.resources[2];
    expect(second.status).toBe("updated");
    expect(second.changes.map((c) => c.what)).toContain("update content of /d/x");
    expect(readFileSync(path.join(root, "d/x"), "utf8")).toBe("two\n");
  });

  it("an immediate notification runs between the file that notified it and the next one", async () => {
    const root = tmpDir();
    const copy = `cat ${root}/d/a1 ${root}/d/a2 > ${root}/d/copied; test ! -e ${root}/d/a3 && echo absent >> ${root}/d/copied`;
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/d" },
      ...files("/d", ["a1"]),
      {
        kind: "file",
        name: "/d/a2",
        props: { content: "a2\n" },
        common: { notifies: [{ resource: `execute[${copy}]`, action: "run", timing: "immediate" }] },
      },
      ...files("/d", ["a3"]),
      { kind: "execute", name: copy, props: { action: "nothing" } },
    ]);
    expect(report.outcome).toBe("converged");
    expect(readFileSync(path.join(root, "d/copied"), "utf8")).toBe("a1\na2\nabsent\n");
  });

  it("a grouped file that ran (touch) still notifies", async () => {
    const root = tmpDir();
    const mark = `touch ${root}/d/notified`;
    const decls: Decl[] = [
      { kind: "directory", name: "/d" },
      ...files("/d", ["a1"]),
      {
        kind: "file",
        name: "/d/a1",
        props: { action: "touch" },
        common: { notifies: [{ resource: `execute[${mark}]`, action: "run" }] },
      },
      { kind: "execute", name: mark, props: { action: "nothing" } },
    ];
    const report = await convergeDecls(root, decls);
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources.map((r) => `${r.id} ${r.status}`)).toContain(`execute[${mark}] ran`);
    expect(existsSync(path.join(root, "d/notified"))).toBe(true);
  });

  it("a guard sees the file declared just before it", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/d" },
      ...files("/d", ["a1"]),
      {
        kind: "file",
        name: "/d/guarded",
        props: { content: "g\n" },
        common: { onlyIf: () => existsSync(path.join(root, "d/a1")) },
      },
    ]);
    expect(report.resources.map((r) => r.status)).toEqual(["updated", "updated", "updated"]);
    expect(readFileSync(path.join(root, "d/guarded"), "utf8")).toBe("g\n");
  });
});

describe("notifications", () => {
  /** an execute that appends its name to ROOT/log, and what else it says */
  const step = (
    root: string,
    name: string,
    extra: Partial<Decl> & { props?: Record<string, unknown> } = {},
  ): Decl => ({
    kind: "execute",
    name,
    ...extra,
    props: { command: `echo ${name} >> ${root}/log`, ...extra.props },
  });
  const log = (root: string) =>
    existsSync(path.join(root, "log")) ? readFileSync(path.join(root, "log"), "utf8") : "";

  it("an immediate loop is a failure naming it, not a run that never ends", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      step(root, "a", { common: { notifies: [{ resource: "execute[b]", timing: "immediate" }] } }),
      step(root, "b", {
        props: { action: "nothing" },
        common: { notifies: [{ resource: "execute[a]", timing: "immediate" }] },
      }),
    ]);
    expect(report.outcome).toBe("failed");
    expect(report.error).toBe(
      "execute[a] (recipe test): notification loop: execute[a] -> execute[b] -> execute[a] changed it again; break the loop (notify one way only)",
    );
    expect(log(root)).toBe("a\nb\na\n");
  });

  it("a chain that comes back to a resource that is up to date by then ends there, as it should", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      {
        kind: "file",
        name: "/f",
        props: { content: "x\n" },
        common: { notifies: [{ resource: "execute[b]", timing: "immediate" }] },
      },
      step(root, "b", {
        props: { action: "nothing" },
        common: { notifies: [{ resource: "file[/f]", timing: "immediate" }] },
      }),
    ]);
    expect(report.outcome, report.error).toBe("converged");
    expect(log(root)).toBe("b\n");
  });

  it("a delayed loop ends too, failing once a resource changes again", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      step(root, "a", { common: { notifies: "execute[b]" } }),
      step(root, "b", { props: { action: "nothing" }, common: { notifies: "execute[a]" } }),
    ]);
    expect(report.outcome).toBe("failed");
    expect(report.error).toMatch(
      /notification loop: execute\[a\] -> execute\[b\] -> execute\[a\] changed it again/,
    );
    expect(log(root)).toBe("a\nb\na\n");
  });

  it("a delayed target notified again after it ran runs again (the build after the restart)", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      {
        kind: "file",
        name: "/app.conf",
        props: { content: "c\n" },
        common: { notifies: "execute[restart]" },
      },
      { kind: "file", name: "/src", props: { content: "s\n" }, common: { notifies: "execute[build]" } },
      step(root, "build", { props: { action: "nothing" }, common: { notifies: "execute[restart]" } }),
      step(root, "restart", { props: { action: "nothing" } }),
    ]);
    expect(report.outcome, report.error).toBe("converged");
    expect(log(root)).toBe("restart\nbuild\nrestart\n");
  });

  it("the same delayed notification given two ways runs once", async () => {
    const root = tmpDir();
    await convergeDecls(root, [
      step(root, "x", { common: { notifies: ["execute[r]", { resource: "execute[r]", action: "run" }] } }),
      step(root, "r", { props: { action: "nothing" } }),
    ]);
    expect(log(root)).toBe("x\nr\n");
  });

  it("what was notified before a failure still runs; the failure stays the run's error", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      {
        kind: "file",
        name: "/app.conf",
        props: { content: "new\n" },
        common: { notifies: "execute[restart]" },
      },
      step(root, "fail", { props: { command: "exit 3" } }),
      step(root, "restart", { props: { action: "nothing" } }),
    ]);
    expect(report.outcome).toBe("failed");
    expect(report.error).toMatch(/^execute\[fail\] \(recipe test\): exited with code 3/);
    expect(log(root)).toBe("restart\n");
    expect(report.resources.map((r) => `${r.id} ${r.status}`)).toEqual([
      "file[/app.conf] updated",
      "execute[fail] failed",
      "execute[restart] ran",
    ]);
  });

  it("a notified target the failed run never reached, failing, says so (its own step never ran)", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      {
        kind: "file",
        name: "/app.conf",
        props: { content: "new\n" },
        common: { notifies: "execute[restart]" },
      },
      step(root, "fail", { props: { command: "exit 3" } }),
      step(root, "restart", { props: { command: "exit 4", action: "nothing" } }),
    ]);
    expect(report.error).toMatch(/^execute\[fail\]/);
    const restart = report.resources.find((r) => r.id === "execute[restart]");
    expect(restart?.status).toBe("failed");
    expect(restart?.error).toMatch(
      /exited with code 4.* \(the run stopped at execute\[fail\] before execute\[restart\] itself ran\)$/,
    );
  });

  it("a guard holds for a notified run too", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "file", name: "/f", props: { content: "x\n" }, common: { notifies: "execute[migrate]" } },
      step(root, "migrate", { props: { action: "nothing" }, common: { onlyIf: "test -e /nonexistent" } }),
    ]);
    expect(log(root)).toBe("");
    expect(report.resources.at(-1)).toMatchObject({
      id: "execute[migrate]",
      status: "skipped",
      note: "notified by file[/f]; skipped: onlyIf guard is false",
    });
  });

  it("totals count resources, a notified run adding to its own resource", async () => {
    const root = tmpDir();
    const decls = [
      { kind: "file", name: "/f", props: { content: "x\n" }, common: { notifies: "execute[r]" } },
      step(root, "r", { props: { action: "nothing" } }),
    ];
    const report = await convergeDecls(root, decls);
    expect(report.resources).toHaveLength(3); // the file, r's own (nothing), r notified
    expect(report.totals).toEqual({
      resources: 2,
      updated: 2,
      upToDate: 0,
      skipped: 0,
      failed: 0,
      notifications: 1,
    });
  });
});

describe("retries", () => {
  it("cover reading too: a git repository that appears between attempts is cloned", async () => {
    const root = tmpDir();
    const later = path.join(tmpDir(), "app.git");
    const src = tmpDir();
    writeFileSync(path.join(src, "a.txt"), "a\n");
    // the repository appears while the first attempt's wait runs (ten attempts a second apart:
    // time enough on a slow machine)
    const appear = new Promise<unknown>((resolve) => setTimeout(resolve, 300)).then(() =>
      bareRepoFrom(src, later),
    );
    const report = await convergeDecls(root, [
      { kind: "git", name: "/app", props: { repository: later }, common: { retries: 10, retryDelay: 1 } },
    ]);
    await appear;
    expect(report.outcome, report.error).toBe("converged");
    expect(readFileSync(path.join(root, "app/a.txt"), "utf8")).toBe("a\n");
  });
});

describe("a dry run's notifications", () => {
  it("check the target's guards, as the real run does: a skipped target notifies nothing", async () => {
    const root = tmpDir();
    const decls: Decl[] = [
      { kind: "file", name: "/f", props: { content: "x\n" }, common: { notifies: "execute[m]" } },
      {
        kind: "execute",
        name: "m",
        props: { command: "true", action: "nothing" },
        common: { onlyIf: "false", notifies: "execute[n]" },
      },
      { kind: "execute", name: "n", props: { command: "true", action: "nothing" } },
    ];
    const dry = await convergeDecls(root, decls, { dryRun: true });
    expect(dry.resources.filter((r) => r.notification).map((r) => `${r.id} ${r.status}`)).toEqual([
      "execute[m] skipped",
    ]);
    expect(dry.totals.updated).toBe(1);
  });

  it("are where the real run has them: immediate ones in place, and what they notify in turn", async () => {
    const root = tmpDir();
    const decls: Decl[] = [
      {
        kind: "file",
        name: "/f",
        props: { content: "x\n" },
        common: { notifies: [{ resource: "execute[a]", timing: "immediate" }] },
      },
      { kind: "file", name: "/g", props: { content: "y\n" } },
      {
        kind: "execute",
        name: "a",
        props: { command: "true", action: "nothing" },
        common: { notifies: "execute[b]" },
      },
      { kind: "execute", name: "b", props: { command: "true", action: "nothing" } },
    ];
    const lines = (r: Awaited<ReturnType<typeof convergeDecls>>) =>
      r.resources.map((x) => `${x.id} ${x.status}`);
    const dry = await convergeDecls(root, decls, { dryRun: true });
    expect(lines(dry)).toEqual([
      "file[/f] would-update",
      "execute[a] would-update",
      "file[/g] would-update",
      "execute[a] up-to-date",
      "execute[b] up-to-date",
      "execute[b] would-update",
    ]);
    const real = await convergeDecls(root, decls);
    expect(lines(real)).toEqual([
      "file[/f] updated",
      "execute[a] ran",
      "file[/g] updated",
      "execute[a] up-to-date",
      "execute[b] up-to-date",
      "execute[b] ran",
    ]);
  });
});

describe("a dry run fails where the run would: a path made in a directory that will not exist", () => {
  afterEach(cleanupTmp);
  const outcome = (r: Awaited<ReturnType<typeof convergeDecls>>) => [
    r.outcome,
    ...r.resources.map((x) => `${x.id} ${x.status}${x.error ? `: ${x.error}` : ""}`),
  ];

  it("a directory, file and link in a missing parent: the dry run and the run fail alike, at the first", async () => {
    for (const decls of [
      [{ kind: "directory", name: "/etc/app", props: {} }],
      [{ kind: "file", name: "/etc/app.conf", props: { content: "x\n" } }],
      [{ kind: "link", name: "/etc/app.link", props: { to: "/srv" } }],
    ] as Decl[][]) {
      const root = tmpDir();
      const dry = await convergeDecls(root, decls, { dryRun: true });
      const real = await convergeDecls(root, decls);
      expect(real.outcome).toBe("failed");
      expect(outcome(dry)).toEqual(outcome(real));
      expect(dry.error).toMatch(/parent directory \/etc does not exist; declare /);
    }
  });

  it("what an earlier resource of the dry run would make counts as there: a parent, a recursive one's ancestors, a clone's", async () => {
    const root = tmpDir();
    const app = path.join(tmpDir(), "app.git");
    await bareRepoFrom(path.join(REPO_ROOT, "examples/app"), app);
    const decls: Decl[] = [
      { kind: "directory", name: "/etc", props: {} },
      { kind: "file", name: "/etc/a.conf", props: { content: "x\n" } },
      { kind: "directory", name: "/srv/www/site/logs", props: { recursive: true } },
      { kind: "link", name: "/srv/www/current", props: { to: "/srv/www/site" } },
      { kind: "git", name: "/opt/apps/one", props: { repository: app } },
      { kind: "file", name: "/opt/apps/one.version", props: { content: "1\n" } },
    ];
    const dry = await convergeDecls(root, decls, { dryRun: true });
    expect(dry.outcome, dry.error).toBe("converged");
    expect(dry.resources.every((r) => r.status === "would-update")).toBe(true);
    expect(readdirSync(root)).toEqual([]); // nothing made
    const real = await convergeDecls(root, decls);
    expect(real.outcome, real.error).toBe("converged");
  });

  it("a directory that exists on the host is enough, and one that is a file is not", async () => {
    const root = tmpDir();
    writeFileSync(path.join(root, "etc"), "not a directory\n");
    const decls: Decl[] = [{ kind: "file", name: "/etc/a.conf", props: { content: "x\n" } }];
    const dry = await convergeDecls(root, decls, { dryRun: true });
    expect(dry.outcome).toBe("failed");
  });
});
