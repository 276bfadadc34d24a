/**
 * After apply, every resource is read and diffed again, grouped file and template writes too:
 * a write that does not stick (another program rewrites the file the moment it appears) fails
 * the run with "did not converge" instead of being reported as updated.
 */
import { appendFileSync, chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RootFs, type StagedWrite } from "../host/root-fs.ts";
import { convergeDecls, type Decl } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";

afterEach(cleanupTmp);

/**
 * A root where another writer touches `contested` right after muster publishes it, as a program
 * that rewrites its own config file on sight would.
 */
class ContestedRootFs extends RootFs {
  constructor(
    root: string,
    private readonly contested: string,
    private readonly meddle: (hostPath: string) => void,
  ) {
    super(root);
  }
  override async syncWriteGroup(): Promise<StagedWrite[]> {
    const staged = await super.syncWriteGroup();
    return staged.map((w) =>
      w.path !== this.contested
        ? w
        : {
            path: w.path,
            error: w.error,
            discard: () => w.discard(),
            publish: () => {
              w.publish();
              this.meddle(this.hostPath(w.path));
            },
          },
    );
  }
}

const dir: Decl = { kind: "directory", name: "/etc/app", props: { recursive: true } };

describe("a grouped write that does not stick", () => {
  it("a file rewritten by another program as it appears: did not converge, the run stops there", async () => {
    const root = tmpDir();
    const decls: Decl[] = [
      dir,
      { kind: "file", name: "/etc/app/a.conf", props: { content: "a\n" } },
      { kind: "file", name: "/etc/app/app.conf", props: { content: "port = 80\n" } },
      { kind: "file", name: "/etc/app/z.conf", props: { content: "z\n" } },
    ];
    const fs = new ContestedRootFs(root, "/etc/app/app.conf", (p) =>
      appendFileSync(p, "# managed elsewhere\n"),
    );
    const report = await convergeDecls(root, decls, { ctx: { fs } });
    expect(report.outcome).toBe("failed");
    expect(report.resources.map((r) => `${r.id} ${r.status}`)).toEqual([
      "directory[/etc/app] updated",
      "file[/etc/app/a.conf] updated",
      "file[/etc/app/app.conf] failed",
    ]);
    expect(report.error).toMatch(
      /^file\[\/etc\/app\/app\.conf\] \(recipe test\): did not converge: still update content/,
    );
    expect(readFileSync(path.join(root, "etc/app/app.conf"), "utf8")).toBe(
      "port = 80\n# managed elsewhere\n",
    );
  });

  it("a file whose mode another program resets: did not converge names the mode", async () => {
    const root = tmpDir();
    const fs = new ContestedRootFs(root, "/etc/app/secret", (p) => chmodSync(p, 0o644));
    const report = await convergeDecls(
      root,
      [dir, { kind: "file", name: "/etc/app/secret", props: { content: "s3cret\n", mode: "0600" } }],
      { ctx: { fs } },
    );
    expect(report.outcome).toBe("failed");
    expect(report.resources.at(-1)).toMatchObject({
      id: "file[/etc/app/secret]",
      status: "failed",
      error: "did not converge: still set mode to 0600 (was 0644)",
    });
    expect(statSync(path.join(root, "etc/app/secret")).mode & 0o777).toBe(0o644);
  });

  it("a template rewritten as it appears: did not converge", async () => {
    const root = tmpDir();
    const repo = tmpDir();
    mkdirSync(path.join(repo, "templates"));
    writeFileSync(path.join(repo, "templates/site.conf.eta"), "listen <%= it.port %>\n");
    const fs = new ContestedRootFs(root, "/etc/app/site.conf", (p) => writeFileSync(p, "listen 8080\n"));
    const report = await convergeDecls(
      root,
      [
        dir,
        {
          kind: "template",
          name: "/etc/app/site.conf",
          props: { source: "site.conf.eta", variables: { port: 80 } },
        },
      ],
      { repoDir: repo, ctx: { fs } },
    );
    expect(report.outcome).toBe("failed");
    expect(report.resources.at(-1)).toMatchObject({ id: "template[/etc/app/site.conf]", status: "failed" });
    expect(report.resources.at(-1)?.error).toMatch(/^did not converge: still update content/);
  });

  it("the same writes with nobody meddling converge (the check itself passes a write that sticks)", async () => {
    const root = tmpDir();
    const fs = new ContestedRootFs(root, "/etc/app/none", () => {});
    const report = await convergeDecls(
      root,
      [dir, { kind: "file", name: "/etc/app/app.conf", props: { content: "port = 80\n", mode: "0600" } }],
      { ctx: { fs } },
    );
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources.map((r) => r.status)).toEqual(["updated", "updated"]);
  });
});
