/**
 * The shutdown run list (`shutdownRunList` in muster's role form, `shutdown_run_list` beside
 * Chef's `run_list`): its recipes run with the attributes the boot's run list gives.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { recipe } from "../config/recipe-api.ts";
import { loadConfigRepo } from "../config/repo.ts";
import { InputError } from "../core/errors.ts";
import { UNKNOWN_PLATFORM } from "../host/platform.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { compileRun } from "./compile.ts";

afterAll(cleanupTmp);

const app = recipe("app", ({ file, attrs }) => {
  file("/etc/app.conf", { content: `port=${attrs.app.port}\n` });
});
const bye = recipe("bye", ({ file, attrs, node }) => {
  file("/var/tmp/bye", {
    content: `port=${attrs.app.port} state=${String(node.instance?.targetLifecycleState)}\n`,
  });
});

function repoWith(roleFile: string, role: string): string {
  const dir = tmpDir();
  mkdirSync(path.join(dir, "roles"));
  mkdirSync(path.join(dir, "recipes"));
  mkdirSync(path.join(dir, "attributes"));
  writeFileSync(path.join(dir, "attributes/app.json"), JSON.stringify({ app: { port: 1 } }));
  for (const r of ["app", "bye"])
    writeFileSync(
      path.join(dir, `recipes/${r}.ts`),
      `import { recipe } from "muster";\nexport default recipe("${r}", () => {});\n`,
    );
  writeFileSync(path.join(dir, "roles", roleFile), role);
  return dir;
}

function compile(dir: string, runList?: "run" | "shutdown") {
  return compileRun({
    repo: loadConfigRepo(dir),
    recipes: new Map([
      ["app", app],
      ["bye", bye],
    ]),
    role: "web",
    node: {
      hostname: "h",
      root: "/",
      platform: UNKNOWN_PLATFORM,
      instance: { targetLifecycleState: "Terminated" },
    },
    runList,
  });
}

describe("shutdown run list", () => {
  const forms = [
    [
      "muster's form",
      "web.yaml",
      "name: web\nrunList: ['recipe[app]']\nshutdownRunList: ['recipe[bye]']\ndefaultAttributes: { app: { port: 7 } }\n",
    ],
    [
      "Chef's form",
      "web.json",
      JSON.stringify({
        name: "web",
        run_list: ["recipe[app]"],
        shutdown_run_list: ["recipe[bye]"],
        default_attributes: { app: { port: 7 } },
      }),
    ],
  ] as const;
  it.each(forms)("%s: the shutdown list's recipes, with the run list's attributes", (_n, file, text) => {
    const dir = repoWith(file, text);
    const boot = compile(dir);
    expect(boot.recipes).toEqual(["app"]);
    const down = compile(dir, "shutdown");
    expect(down.recipes).toEqual(["bye"]);
    expect(down.resources.map((r) => r.id)).toEqual(["file[/var/tmp/bye]"]);
    expect(down.resources[0]!.props.content).toBe("port=7 state=Terminated\n");
  });

  it("no shutdown list: nothing to run", () => {
    const dir = repoWith("web.yaml", "name: web\nrunList: ['recipe[app]']\n");
    expect(compile(dir, "shutdown").resources).toEqual([]);
  });

  it("an unknown recipe in the shutdown list is named with its field", () => {
    const dir = repoWith(
      "web.json",
      JSON.stringify({ name: "web", run_list: ["recipe[app]"], shutdown_run_list: ["recipe[byee]"] }),
    );
    expect(() => loadConfigRepo(dir)).toThrow(InputError);
    try {
      loadConfigRepo(dir);
    } catch (err) {
      expect((err as InputError).problems.join("\n")).toContain(
        'roles/web.json: shutdown_run_list[0]: unknown recipe "byee"; did you mean "bye"?',
      );
    }
  });
});
