import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { zodProblems } from "../core/zod-problems.ts";
import { type Exec, exec } from "../host/exec.ts";
import { convergeDecls } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { execute } from "./execute.ts";

describe("execute.diff", () => {
  it("runs unless `creates` exists or the action is nothing", () => {
    expect(execute.diff({ command: "make install" }, { createsExists: false })[0].what).toBe(
      "run `make install`",
    );
    expect(execute.diff({ command: "make", creates: "/x" }, { createsExists: true })).toEqual([]);
    expect(execute.diff({ command: "make", action: "nothing" }, { createsExists: false })).toEqual([]);
  });
  it("hides a sensitive command", () => {
    expect(
      execute.diff({ command: "echo $TOKEN", sensitive: true }, { createsExists: false })[0].what,
    ).not.toContain("TOKEN");
  });
});

describe("execute props", () => {
  // the line a converge prints for the resource: where it was declared, its id, the prop
  const problems = (env: Record<string, string>) => {
    const r = execute.schema.safeParse({ command: "make", env });
    return r.success ? [] : zodProblems("recipes/app.ts:3: execute[build]", r.error);
  };
  const notAName = 'not a variable name (empty, or holding "=" or a NUL character); write { NAME: "value" }';

  it("an env name with = or a NUL, or an empty one, is bad input naming the key (not what follows =)", () => {
    expect(problems({ "TOKEN=s3cret": "" })).toEqual([
      `recipes/app.ts:3: execute[build]: env: key "TOKEN=...": ${notAName}`,
    ]);
    expect(problems({ "": "x" })).toEqual([`recipes/app.ts:3: execute[build]: env: key "": ${notAName}`]);
    expect(problems({ "A\0B": "x" })).toEqual([
      `recipes/app.ts:3: execute[build]: env: key "A\\u0000B": ${notAName}`,
    ]);
  });

  it("an env value with a NUL is bad input naming the variable", () => {
    expect(problems({ A: "x\0y" })).toEqual([
      "recipes/app.ts:3: execute[build]: env.A: must not contain a NUL character",
    ]);
    expect(problems({ PATH: "/usr/bin:/bin", EMPTY: "", "lower.dotted-name": "a=b c" })).toEqual([]);
  });
});

describe("execute on a root", () => {
  afterEach(cleanupTmp);

  it.runIf(process.getuid?.() === 0)(
    "as a user without a group: the user's primary group, HOME, USER and LOGNAME (needs root to run as nobody: skipped when not root)",
    async () => {
      const root = tmpDir();
      // somewhere nobody may write
      const outDir = tmpDir();
      chmodSync(outDir, 0o777);
      const out = path.join(outDir, "id.txt");
      const report = await convergeDecls(root, [
        {
          kind: "execute",
          name: "who",
          props: { command: `echo "$(id -u) $(id -g) $HOME $USER $LOGNAME" > ${out}`, user: "nobody" },
        },
      ]);
      expect(report.outcome, report.error).toBe("converged");
      // nobody as the host's /etc/passwd has it (the root has none of its own)
      const entry = readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .find((l) => l.startsWith("nobody:"))!
        .split(":");
      expect(readFileSync(out, "utf8").trim()).toBe(`${entry[2]} ${entry[3]} ${entry[5]} nobody nobody`);
    },
  );

  it("a sensitive command that times out is not shown; the timeout is in seconds, as the prop", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      {
        kind: "execute",
        name: "set-password",
        props: { command: "echo SECRET_TOKEN_123 > /dev/null; sleep 3", sensitive: true, timeout: 0.3 },
      },
      { kind: "execute", name: "plain", props: { command: "sleep 3", timeout: 0.3 } },
    ]);
    expect(report.error).toBe(
      "execute[set-password] (recipe test): the command (sensitive) did not finish within 0.3 s",
    );
    expect(JSON.stringify(report)).not.toContain("SECRET_TOKEN_123");
    const plain = await convergeDecls(root, [
      { kind: "execute", name: "plain", props: { command: "sleep 3", timeout: 0.3 } },
    ]);
    expect(plain.error).toBe("execute[plain] (recipe test): `sleep 3` did not finish within 0.3 s");
  });

  it("a working directory that does not exist is said so, not 'command not found'", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "execute", name: "x", props: { command: "true", cwd: "/nope" } },
    ]);
    expect(report.error).toBe("execute[x] (recipe test): working directory /nope does not exist");
  });

  it("a working directory that is a file is said so", async () => {
    const root = tmpDir();
    writeFileSync(path.join(root, "motd"), "hi\n");
    const report = await convergeDecls(root, [
      { kind: "execute", name: "x", props: { command: "true", cwd: "/motd" } },
    ]);
    expect(report.error).toBe("execute[x] (recipe test): working directory /motd is not a directory");
  });
});

describe("execute's report", () => {
  afterEach(cleanupTmp);

  it("says an unguarded command runs on every converge; `creates` or onlyIf guards it", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "execute", name: "bare", props: { command: ["true"] } },
      { kind: "execute", name: "made", props: { command: ["true"], creates: "/made" } },
      { kind: "execute", name: "guarded", props: { command: ["true"] }, common: { onlyIf: () => true } },
    ]);
    expect(report.resources.map((r) => [r.id, r.status, r.note])).toEqual([
      ["execute[bare]", "ran", "runs on every converge unless guarded (creates, onlyIf, notIf)"],
      ["execute[made]", "ran", undefined],
      ["execute[guarded]", "ran", undefined],
    ]);
    expect(report.resources[0].changes).toEqual([{ key: "run", what: "run `true`" }]);
  });
});

describe("execute's command guards run as its command does (Chef's guards on execute inherit them)", () => {
  afterEach(cleanupTmp);

  it("in its cwd and with its env", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "w"));
    writeFileSync(path.join(root, "w/a"), "");
    const report = await convergeDecls(root, [
      {
        kind: "execute",
        name: "in-cwd",
        props: { command: ["true"], cwd: "/w" },
        common: { onlyIf: "test -e a" },
      },
      {
        kind: "execute",
        name: "with-env",
        props: { command: ["true"], env: { FOO: "1" } },
        common: { onlyIf: 'test "$FOO" = 1' },
      },
      // a guard of another kind still runs in the root
      { kind: "directory", name: "/d", props: {}, common: { notIf: "test -e w/a" } },
    ]);
    expect(report.resources.map((r) => [r.id, r.status])).toEqual([
      ["execute[in-cwd]", "ran"],
      ["execute[with-env]", "ran"],
      ["directory[/d]", "skipped"],
    ]);
  });

  it.runIf(process.geteuid?.() === 0)("as its user", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      {
        kind: "execute",
        name: "as-nobody",
        props: { command: ["true"], user: 65534 },
        common: { onlyIf: "test $(id -u) = 65534" },
      },
    ]);
    expect(report.resources.map((r) => [r.id, r.status])).toEqual([["execute[as-nobody]", "ran"]]);
  });
});

describe("attack: the working directory swapped for a link between muster's check and the command's start", () => {
  afterEach(cleanupTmp);

  it("the command starts in the directory muster resolved, not where the link points (another user's /srv/app/work -> /etc)", async () => {
    const root = tmpDir();
    const outside = tmpDir(); // stands for the host's /etc: a directory outside the root
    mkdirSync(path.join(root, "srv/app/work"), { recursive: true });
    // the app user renames their work directory away and puts a link in its place, at the moment
    // the command is about to start: after muster checked the path, before the child's chdir
    const swappingExec: Exec = (argv, opts) => {
      renameSync(path.join(root, "srv/app/work"), path.join(root, "srv/app/moved"));
      symlinkSync(outside, path.join(root, "srv/app/work"));
      return exec(argv, opts);
    };
    const report = await convergeDecls(
      root,
      [
        {
          kind: "execute",
          name: "here",
          props: { command: "pwd -P > where; touch made-here", cwd: "/srv/app/work" },
        },
      ],
      { ctx: { exec: swappingExec } },
    );
    expect(report.outcome, report.error).toBe("converged");
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(path.join(root, "srv/app/moved/where"), "utf8").trim()).toBe(
      path.join(realpathSync(root), "srv/app/moved"),
    );
  });

  it("the command gets no descriptor of its working directory (one run as another user could list a directory it may not read)", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "srv/app/work"), { recursive: true });
    const report = await convergeDecls(root, [
      {
        kind: "execute",
        name: "fds",
        props: { command: "for f in /proc/$$/fd/*; do readlink $f; done > fds; true", cwd: "/srv/app/work" },
      },
    ]);
    expect(report.outcome, report.error).toBe("converged");
    const fds = readFileSync(path.join(root, "srv/app/work/fds"), "utf8").trim().split("\n");
    expect(fds.length).toBeGreaterThan(2); // the pipes and the loop's own are listed
    expect(fds).not.toContain(path.join(realpathSync(root), "srv/app/work"));
  });

  it("a working directory that is a link root made is still entered (a release link)", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "srv/app/releases/v2"), { recursive: true });
    symlinkSync("releases/v2", path.join(root, "srv/app/current"));
    const report = await convergeDecls(root, [
      { kind: "execute", name: "here", props: { command: "pwd -P > where", cwd: "/srv/app/current" } },
    ]);
    expect(report.outcome, report.error).toBe("converged");
    expect(readFileSync(path.join(root, "srv/app/releases/v2/where"), "utf8").trim()).toBe(
      path.join(realpathSync(root), "srv/app/releases/v2"),
    );
  });
});
