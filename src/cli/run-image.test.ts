import { existsSync, lchownSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, muster, tmpDir } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

describe("muster image prepare", () => {
  it("attack: a gate.file naming a directory (the site's own) removes nothing: one line, exit 2", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "etc/muster"), { recursive: true });
    // ping.html is a directory of the site (as a web root may have one), and the boot config
    // names it as the gate: image prepare used to remove it whole, with all it held
    mkdirSync(path.join(root, "srv/site/ping.html"), { recursive: true });
    writeFileSync(path.join(root, "srv/site/ping.html/index.html"), "the site's own\n");
    writeFileSync(
      path.join(root, "etc/muster/boot.json"),
      JSON.stringify({ repo: { url: "/srv/config.git" }, gate: { file: "/srv/site/ping.html" } }),
    );
    mkdirSync(path.join(root, "var/lib/muster"), { recursive: true });
    writeFileSync(path.join(root, "var/lib/muster/last-run.json"), "{}\n");
    const res = await muster(["image", "prepare", "--root", root]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split("\n")).toEqual([
      "muster: gate.file /srv/site/ping.html is a directory, not a gate file; nothing was removed: fix gate.file in the boot config",
    ]);
    expect(existsSync(path.join(root, "srv/site/ping.html/index.html"))).toBe(true);
    expect(existsSync(path.join(root, "var/lib/muster/last-run.json"))).toBe(true);
    // gate close cannot close it (exit 1), says why, and claims no gate closed
    const close = await muster(["gate", "close", "--root", root]);
    expect(close.code).toBe(1);
    expect(close.stderr).toContain("gate.file /srv/site/ping.html is a directory, not a gate file");
    expect(close.stdout).toBe("");
    expect(existsSync(path.join(root, "srv/site/ping.html/index.html"))).toBe(true);
  });

  it("a path of image.clean muster refuses stops it before anything is removed", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "etc/muster"), { recursive: true });
    writeFileSync(
      path.join(root, "etc/muster/boot.json"),
      JSON.stringify({ repo: { url: "/srv/config.git" }, image: { clean: ["/srv/cache/tmp"] } }),
    );
    mkdirSync(path.join(root, "var/lib/muster"), { recursive: true });
    writeFileSync(path.join(root, "var/lib/muster/last-run.json"), "{}\n");
    // another user's link on the way to a path to clean: muster does not go through it
    mkdirSync(path.join(root, "srv/elsewhere/tmp"), { recursive: true });
    symlinkSync(path.join(root, "srv/elsewhere"), path.join(root, "srv/cache"));
    lchownSync(path.join(root, "srv/cache"), 65534, 65534);
    const res = await muster(["image", "prepare", "--root", root]);
    expect(res.code, res.stderr).not.toBe(0);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    // nothing was removed before the refusal
    expect(existsSync(path.join(root, "var/lib/muster/last-run.json"))).toBe(true);
    expect(existsSync(path.join(root, "srv/elsewhere/tmp"))).toBe(true);
  });
});
