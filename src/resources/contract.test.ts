/**
 * The contract every resource kind passes: converge twice into a temporary root and the second
 * run is all up to date; a dry run leaves the tree byte-identical; a failure leaves no
 * half-written file behind.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineResource } from "../core/resource.ts";
import { z } from "../core/zod.ts";
import { bareRepoFrom } from "../demo/example-repos.ts";
import { stopStartedSupervisors } from "../providers/supervisor-client.ts";
import { convergeDecls, type Decl } from "../test-support/harness.ts";
import { cleanupTmp, EXAMPLES, tmpDir, treeHash } from "../test-support/tmp.ts";
import { resourceKinds } from "./index.ts";

let repoDir: string;
let appRepo: string;

beforeAll(async () => {
  repoDir = tmpDir("muster-contract-repo-");
  mkdirSync(path.join(repoDir, "templates"));
  mkdirSync(path.join(repoDir, "files"));
  writeFileSync(path.join(repoDir, "templates/t.eta"), "port <%= it.port %>\n");
  writeFileSync(path.join(repoDir, "files/static.txt"), "static\n");
  appRepo = path.join(tmpDir(), "app.git");
  await bareRepoFrom(path.join(EXAMPLES, "app"), appRepo);
});
afterAll(async () => {
  await stopStartedSupervisors(); // the service scenario's
  cleanupTmp();
});

/** One scenario a kind: the resources that exercise it (parents first). */
const scenarios: Record<string, () => Decl[]> = {
  directory: () => [
    { kind: "directory", name: "/srv/a/b", props: { mode: "0750", recursive: true } },
    { kind: "directory", name: "/srv/gone", props: { action: "delete" } },
  ],
  file: () => [
    { kind: "directory", name: "/etc", props: {} },
    { kind: "file", name: "/etc/inline", props: { content: "hello\n", mode: "0600" } },
    { kind: "file", name: "/etc/static", props: { source: "static.txt" } },
    { kind: "file", name: "/etc/once", props: { content: "first\n", action: "create-if-missing" } },
  ],
  template: () => [
    { kind: "directory", name: "/etc", props: {} },
    {
      kind: "template",
      name: "/etc/t.conf",
      props: { source: "t.eta", variables: { port: 80 }, mode: "0644" },
    },
  ],
  link: () => [
    { kind: "directory", name: "/srv", props: {} },
    { kind: "link", name: "/srv/live", props: { to: "/srv/current" } },
  ],
  execute: () => [
    { kind: "directory", name: "/var", props: {} },
    { kind: "execute", name: 'echo done > "$MUSTER_ROOT/var/marker"', props: { creates: "/var/marker" } },
  ],
  git: () => [
    { kind: "directory", name: "/srv", props: {} },
    { kind: "git", name: "/srv/app", props: { repository: appRepo } },
  ],
  // under a sandbox root a package is checked against the host's, never installed; git is on
  // every machine these tests run on
  package: () => [
    { kind: "directory", name: "/srv", props: {} },
    { kind: "package", name: "git", props: {} },
  ],
  service: () => [
    { kind: "directory", name: "/srv", props: {} },
    {
      kind: "service",
      name: "contract",
      props: {
        running: true,
        enabled: true,
        unit: { execStart: ["sleep", "1000"], workingDirectory: "/srv" },
      },
    },
  ],
  group: () => [...accountFiles(), { kind: "group", name: "app", props: { gid: 990, system: true } }],
  user: () => [
    ...accountFiles(),
    {
      kind: "user",
      name: "app",
      props: { uid: 990, home: "/srv/app", shell: "/usr/sbin/nologin", system: true },
    },
  ],
};

/** The root's own account files, which useradd/groupadd --prefix edit. */
function accountFiles(): Decl[] {
  const files: [string, string][] = [
    ["/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"],
    ["/etc/group", "root:x:0:\n"],
    ["/etc/shadow", "root:*:19000:0:99999:7:::\n"],
    ["/etc/gshadow", "root:*::\n"],
  ];
  return [
    { kind: "directory", name: "/etc", props: {} },
    ...files.map(([name, content]) => ({
      kind: "file",
      name,
      props: { content, action: "create-if-missing" },
    })),
  ];
}

function allUpToDate(statuses: string[]): boolean {
  return statuses.every((s) => s === "up-to-date");
}

describe("resource contract", () => {
  it("every registered kind has a contract scenario", () => {
    expect(Object.keys(resourceKinds).filter((k) => !(k in scenarios))).toEqual([]);
  });

  for (const kind of Object.keys(scenarios)) {
    describe(kind, () => {
      it("converges, and a second run changes nothing", async () => {
        const root = tmpDir();
        const first = await convergeDecls(root, scenarios[kind](), { repoDir });
        expect(first.outcome, first.error).toBe("converged");
        expect(first.totals.updated).toBeGreaterThan(0);
        const second = await convergeDecls(root, scenarios[kind](), { repoDir });
        expect(second.outcome, second.error).toBe("converged");
        expect(allUpToDate(second.resources.map((r) => r.status))).toBe(true);
      });

      it("dry run reports changes and leaves the tree byte-identical", async () => {
        const root = tmpDir();
        mkdirSync(path.join(root, "srv"));
        const before = treeHash(root);
        const report = await convergeDecls(root, scenarios[kind](), { repoDir, dryRun: true });
        expect(report.outcome, report.error).toBe("converged");
        expect(treeHash(root)).toBe(before);
      });
    });
  }
});

describe("a failed resource", () => {
  it("stops the run, names the resource, and leaves no half-written file", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "etc"));
    writeFileSync(path.join(root, "etc/app.conf"), "old\n");
    const report = await convergeDecls(
      root,
      [
        { kind: "file", name: "/etc/app.conf", props: { content: "new\n", owner: "no-such-user-here" } },
        { kind: "file", name: "/etc/after", props: { content: "never\n" } },
      ],
      { repoDir },
    );
    expect(report.outcome).toBe("failed");
    expect(report.error).toMatch(/^file\[\/etc\/app.conf\].*no-such-user-here/);
    expect(readdirSync(path.join(root, "etc"))).toEqual(["app.conf"]);
    expect(existsSync(path.join(root, "etc/after"))).toBe(false);
  });

  it("a resource whose apply does not stick fails with 'did not converge'", async () => {
    const root = tmpDir();
    resourceKinds.stubborn = defineResource({
      kind: "stubborn",
      nameProp: "name",
      pathName: false,
      schema: z.strictObject({ name: z.string() }),
      actions: ["create"],
      defaultAction: "create",
      id: (p: { name: string }) => `stubborn[${p.name}]`,
      read: () => ({}),
      diff: () => [{ key: "create" as const, what: "flip the switch" }],
      apply: () => {},
    });
    try {
      const report = await convergeDecls(root, [{ kind: "stubborn", name: "x" }], { repoDir });
      expect(report.outcome).toBe("failed");
      expect(report.error).toBe("stubborn[x] (recipe test): did not converge: still flip the switch");
    } finally {
      delete resourceKinds.stubborn;
    }
  });
});
