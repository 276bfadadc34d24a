/**
 * Bad input through the real CLI: exit 2, one line that names the file and the field, and the
 * root untouched.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decimalModeProblem } from "../core/schema-parts.ts";
import { cleanupTmp, muster, tmpDir, treeHash } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

const GOOD_WEB = `import { recipe } from "muster";
export default recipe("web", ({ directory, file, template }) => {
  directory("/etc/app", { mode: "0755", recursive: true });
  file("/etc/app/a.conf", { content: "a\\n", mode: "0644" });
  template("/etc/app/site.conf", { source: "site.eta", variables: { port: 80 } });
});
`;

/** A small config repo with `files` (relative path -> content) over a working default. */
function repo(files: Record<string, string> = {}): string {
  const dir = tmpDir("muster-repo-");
  const all: Record<string, string> = {
    "roles/web.json": JSON.stringify({ name: "web", run_list: ["recipe[base]", "recipe[web]"] }),
    "recipes/base.ts": `import { recipe } from "muster";\nexport default recipe("base", ({ directory }) => {\n  directory("/srv", {});\n});\n`,
    "recipes/web.ts": GOOD_WEB,
    "templates/site.eta": "listen <%= it.port %>;\n",
    ...files,
  };
  for (const [rel, content] of Object.entries(all)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

async function expectBadInput(repoDir: string, expected: RegExp, role = "web") {
  const root = tmpDir("muster-root-");
  const before = treeHash(root);
  const res = await muster(["converge", "--repo", repoDir, "--role", role, "--root", root]);
  expect(res.code, res.stderr + res.stdout).toBe(2);
  const lines = res.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(expected);
  expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(res.stdout).toBe(""); // not even the run's header: the input was never good
  expect(treeHash(root)).toBe(before);
}

describe("muster converge: bad input", () => {
  it("works on the good repo (the cases below differ from it by one mistake)", async () => {
    const root = tmpDir();
    const res = await muster(["converge", "--repo", repo(), "--role", "web", "--root", root]);
    expect(res.code, res.stderr).toBe(0);
    expect(readFileSync(path.join(root, "etc/app/site.conf"), "utf8")).toBe("listen 80;\n");
  });

  it("unknown recipe in a run list", () =>
    expectBadInput(
      repo({ "roles/web.json": JSON.stringify({ name: "web", run_list: ["recipe[base]", "recipe[wbe]"] }) }),
      /^muster: roles\/web\.json: run_list\[1\]: unknown recipe "wbe"; did you mean "web"\?$/,
    ));

  it("misspelled prop", () =>
    expectBadInput(
      repo({ "recipes/web.ts": GOOD_WEB.replace('{ content: "a\\n", mode', '{ content: "a\\n", mdoe') }),
      /^muster: recipes\/web\.ts:4: file\[\/etc\/app\/a\.conf\]: unknown prop "mdoe"$/,
    ));

  it("wrong type", () =>
    expectBadInput(
      repo({ "recipes/web.ts": GOOD_WEB.replace('mode: "0755"', "mode: true") }),
      /^muster: recipes\/web\.ts:3: directory\[\/etc\/app\]: mode: /,
    ));

  it("template syntax error", () =>
    expectBadInput(
      repo({ "templates/site.eta": "a\nlisten <%= it.port ;\n" }),
      /^muster: recipes\/web\.ts:5: template\[\/etc\/app\/site\.conf\]: templates\/site\.eta: syntax error: unclosed tag at line 2/,
    ));

  it("undefined template variable", () =>
    expectBadInput(
      repo({ "templates/site.eta": "listen <%= it.port %>;\nname <%= it.serverName %>;\n" }),
      /^muster: recipes\/web\.ts:5: template\[\/etc\/app\/site\.conf\]: templates\/site\.eta: line 2: variable it\.serverName is not defined/,
    ));

  it("undefined field of an item in a list the template walks", () =>
    expectBadInput(
      repo({
        "recipes/web.ts": GOOD_WEB.replace(
          "variables: { port: 80 }",
          'variables: { port: 80, servers: [{ host: "a", port: 1 }] }',
        ),
        "templates/site.eta":
          "listen <%= it.port %>;\n<% it.servers.forEach((s) => { %>server <%= s.host %>:<%= s.prot %>;\n<% }) %>",
      }),
      /^muster: recipes\/web\.ts:5: template\[\/etc\/app\/site\.conf\]: templates\/site\.eta: line 2: variable it\.servers\[0\]\.prot is not defined/,
    ));

  it("role cycle", () =>
    expectBadInput(
      repo({
        "roles/web.json": JSON.stringify({ name: "web", run_list: ["role[base]"] }),
        "roles/base.yaml": "name: base\nrunList: ['role[web]']\n",
      }),
      /^muster: roles\/base\.yaml: role cycle web -> base -> web/,
    ));

  it("relative resource path", () =>
    expectBadInput(
      repo({ "recipes/web.ts": GOOD_WEB.replace('directory("/etc/app"', 'directory("etc/app"') }),
      /^muster: recipes\/web\.ts:3: directory\[etc\/app\]: path: must be an absolute path/,
    ));

  it("missing repo directory", () =>
    expectBadInput(
      "/nonexistent/config-repo",
      /^muster: --repo \/nonexistent\/config-repo: config repository directory does not exist$/,
    ));

  it("unknown role", () =>
    expectBadInput(
      repo(),
      /^muster: --role wbe: no roles\/wbe\.json or \.yaml .*did you mean "web"\?/,
      "wbe",
    ));

  it("a recipe that does not compile names the file and line", () =>
    expectBadInput(
      repo({ "recipes/web.ts": GOOD_WEB.replace("directory(", "directory((") }),
      /^muster: recipes\/web\.ts:3: /,
    ));

  it("a recipe that throws as it loads (outside recipe()) names the file and line", () =>
    expectBadInput(
      repo({
        "recipes/base.ts": `import { recipe } from "muster";\nconst x: any = undefined;\nx.boom;\nexport default recipe("base", () => {});\n`,
      }),
      /^muster: recipes\/base\.ts:3: Cannot read properties of undefined \(reading 'boom'\) \(as the recipe loads, outside recipe\(\)\)$/,
    ));

  it("a recipe without a default export is named, not muster's own entry file", () =>
    expectBadInput(
      repo({
        "recipes/base.ts": `import { recipe } from "muster";\nexport const base = recipe("base", () => {});\n`,
      }),
      /^muster: recipes\/base\.ts: has no default export; end it with export default recipe\("base", \.\.\.\)$/,
    ));

  it("a file where the repository's roles/ should be, a directory where a role file should be: one line", async () => {
    await expectBadInput(
      repo({ attributes: "not a directory\n" }),
      /^muster: attributes: a file, not a directory; the config repository keeps its attributes in attributes\/$/,
    );
    const dir = repo();
    mkdirSync(path.join(dir, "roles/db.json"));
    await expectBadInput(dir, /^muster: roles\/db\.json: a directory, not a file$/);
  });

  it("a notification asking for an action its target does not have is refused", () =>
    expectBadInput(
      repo({
        "recipes/web.ts": GOOD_WEB.replace(
          '{ content: "a\\n", mode: "0644" }',
          '{ content: "a\\n", mode: "0644", notifies: { resource: "directory[/etc/app]", action: "delet" } }',
        ),
      }),
      /^muster: recipes\/web\.ts:4: file\[\/etc\/app\/a\.conf\]: notifies: directory has no action "delet"; did you mean "delete"\? \(its actions: create, delete\)$/,
    ));

  it("a mode written as a decimal number (644, the classic mistake) is refused", () =>
    expectBadInput(
      repo({
        "recipes/web.ts": GOOD_WEB.replace(
          '{ content: "a\\n", mode: "0644" }',
          '{ content: "a\\n", mode: 644 }',
        ),
      }),
      /^muster: recipes\/web\.ts:4: file\[\/etc\/app\/a\.conf\]: mode: 644 is a decimal number here \(0o1204\); write the octal literal 0o644 or the string "0644"$/,
    ));

  it("modes: octal literals with special bits pass, decimals that look octal do not", () => {
    expect(decimalModeProblem(0o2775)).toBeUndefined();
    expect(decimalModeProblem(0o4755)).toBeUndefined();
    expect(decimalModeProblem(0o644)).toBeUndefined(); // 420
    expect(decimalModeProblem(0o755)).toBeUndefined(); // 493
    for (const n of [644, 755, 600, 700, 640, 664, 775, 777, 750])
      expect(decimalModeProblem(n)).toBeDefined();
  });

  it("with --json, bad input is a JSON object on stdout as well", async () => {
    const root = tmpDir();
    const res = await muster([
      "converge",
      "--repo",
      path.join(root, "none"),
      "--role",
      "web",
      "--root",
      root,
      "--json",
    ]);
    expect(res.code).toBe(2);
    expect(JSON.parse(res.stdout)).toEqual({
      ok: false,
      exitCode: 2,
      problems: [`--repo ${path.join(root, "none")}: config repository directory does not exist`],
    });
    const usage = await muster(["converge", "--repo", root, "--json"]);
    expect(JSON.parse(usage.stdout)).toEqual({
      ok: false,
      exitCode: 2,
      problems: ["required option '--role <name>' not specified"],
    });
  });

  it("usage errors exit 2 with one line naming the command and its --help", async () => {
    const res = await muster(["converge", "--repo", repo()]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      "muster converge: required option '--role <name>' not specified; see muster converge --help\n",
    );
  });
});

describe("muster converge: execute resources go by their names", () => {
  const SECRET = "hunter2-s3cret";
  const web = (body: string) =>
    `import { recipe } from "muster";\nexport default recipe("web", ({ execute, file }) => {\n${body}\n});\n`;
  /** converge `root` to role web with `lines` as the web recipe's body */
  const convergeWeb = (root: string, lines: string[], ...flags: string[]) =>
    muster([
      "converge",
      "--repo",
      repo({ "recipes/web.ts": web(lines.join("\n")) }),
      "--role",
      "web",
      "--root",
      root,
      ...flags,
    ]);

  it("a notification names the execute by its name; two with one command are two resources", async () => {
    const root = tmpDir();
    const res = await convergeWeb(
      root,
      [
        `  execute("first", { command: "echo one >> $MUSTER_ROOT/log" });`,
        `  execute("second", { command: "echo one >> $MUSTER_ROOT/log" });`,
        `  execute("reload-app", { command: "echo reload >> $MUSTER_ROOT/log", action: "nothing" });`,
        `  file("/srv/app.conf", { content: "x\\n", notifies: "execute[reload-app]" });`,
      ],
      "--json",
    );
    expect(res.code, res.stderr).toBe(0);
    const ids = (JSON.parse(res.stdout) as { resources: { id: string }[] }).resources.map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining(["execute[first]", "execute[second]", "execute[reload-app]"]));
    expect(readFileSync(path.join(root, "log"), "utf8")).toBe("one\none\nreload\n");
  });

  it("a sensitive command is never printed or logged, failed or not", async () => {
    const root = tmpDir();
    const res = await convergeWeb(root, [
      `  execute("set-password", { command: "echo ${SECRET} > /dev/null", sensitive: true });`,
      `  execute("set-other", { command: ["sh", "-c", "echo ${SECRET} >&2; exit 3"], sensitive: true });`,
    ]);
    expect(res.code).toBe(1);
    expect(res.stdout + res.stderr).toMatch(/execute\[set-other\]/);
    expect(res.stdout + res.stderr).not.toContain(SECRET);
    expect(readFileSync(path.join(root, "var/log/muster/converge.log"), "utf8")).not.toContain(SECRET);
  });

  it("one name declared twice with other props is refused; the same declaration twice is fine", async () => {
    const root = tmpDir();
    const twice = await convergeWeb(root, [
      `  execute("reload", { command: "nginx -s reload" });`,
      `  execute("reload", { command: "systemctl reload app" });`,
    ]);
    expect([twice.code, twice.stderr]).toEqual([
      2,
      "muster: recipes/web.ts:4: execute[reload]: declared again with other props (first at recipes/web.ts:3); give each its own name, or declare it once\n",
    ]);
    const same = await convergeWeb(root, [
      `  file("/srv/x", { content: "x" });`,
      `  file("/srv/x", { content: "x" });`,
    ]);
    expect(same.code, same.stderr).toBe(0);
    // the same environment written in another order is the same declaration
    const reordered = await convergeWeb(root, [
      `  execute("hello", { command: "true", env: { A: "1", B: "2" } });`,
      `  execute("hello", { command: "true", env: { B: "2", A: "1" } });`,
    ]);
    expect(reordered.code, reordered.stderr).toBe(0);
    // execute's notifications run it: "refresh" is not one of its actions
    const refresh = await convergeWeb(root, [
      `  execute("e", { command: "true", action: "nothing" });`,
      `  file("/srv/y", { content: "y", notifies: { resource: "execute[e]", action: "refresh" } });`,
    ]);
    expect([refresh.code, refresh.stderr]).toEqual([
      2,
      'muster: recipes/web.ts:4: file[/srv/y]: notifies: execute has no action "refresh" (its actions: run, nothing)\n',
    ]);
  });

  it("a sensitive resource's wrong value is never shown in the problem", async () => {
    const res = await convergeWeb(tmpDir(), [
      `  execute("x", { command: "true", timeout: "${SECRET}", sensitive: true });`,
    ]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("muster: recipes/web.ts:3: execute[x]: timeout: must be a number\n");
    expect(res.stderr).not.toContain(SECRET);
  });

  it("a sensitive command that is its own name is refused: the name is printed everywhere", () =>
    expectBadInput(
      repo({ "recipes/web.ts": web(`  execute("echo ${SECRET}", { sensitive: true });`) }),
      /^muster: recipes\/web\.ts:3: execute\(\): sensitive, but its command is its name, which every report and log shows; give it a plain name and the command in command:$/,
    ));
});

describe("muster converge: a symlink in the root that points outside it", () => {
  it("is resolved inside the root; nothing outside the root is written", async () => {
    const root = tmpDir("muster-root-");
    const outside = tmpDir("muster-outside-");
    symlinkSync(outside, path.join(root, "etc")); // /etc -> a host path outside the root
    const res = await muster(["converge", "--repo", repo(), "--role", "web", "--root", root]);
    expect(res.code, res.stderr).toBe(0);
    expect(readdirSync(outside)).toEqual([]);
    // the link's host path is taken as a path inside the root, as chroot would
    expect(readFileSync(path.join(root, outside, "app/a.conf"), "utf8")).toBe("a\n");
  });
});
