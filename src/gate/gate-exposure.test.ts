import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RootFs } from "../host/root-fs.ts";
import { type DirOwnership, exposureWarning, gateDirExposure, gateExposure } from "./gate-exposure.ts";

const ME = 4242;
const dir = (p: string, uid: number, mode: number, extra: Partial<DirOwnership> = {}): DirOwnership => ({
  path: p,
  uid,
  gid: 0,
  mode,
  holdsGate: false,
  ...extra,
});
const chain = (gateDir: Partial<DirOwnership> & { mode: number }) => [
  dir("/", 0, 0o755),
  dir("/srv", 0, 0o755),
  dir("/srv/www", 0, 0o755, { holdsGate: true, ...gateDir }),
];

describe("gateExposure (pure)", () => {
  it("root's directories, and this user's, that only their owner may write: nobody else", () => {
    expect(gateExposure(chain({ mode: 0o755 }), ME)).toBeUndefined();
    expect(gateExposure(chain({ mode: 0o700, uid: ME }), ME)).toBeUndefined();
    // root's own group may write: that is root
    expect(gateExposure(chain({ mode: 0o775, gid: 0 }), ME)).toBeUndefined();
  });

  it("the gate's directory belongs to another user (a deploy user's web root)", () => {
    expect(gateExposure(chain({ mode: 0o755, uid: 33 }), ME)).toEqual({
      dir: "/srv/www",
      by: "owner",
      uid: 33,
    });
  });

  it("a group other than root's may write it", () => {
    expect(gateExposure(chain({ mode: 0o775, gid: 33 }), ME)).toEqual({
      dir: "/srv/www",
      by: "group",
      gid: 33,
    });
  });

  it("every user may write it, sticky bit or not (anyone may create the gate there)", () => {
    expect(gateExposure(chain({ mode: 0o777 }), ME)).toEqual({ dir: "/srv/www", by: "others" });
    expect(gateExposure(chain({ mode: 0o1777 }), ME)).toEqual({ dir: "/srv/www", by: "others" });
  });

  it("an ancestor others may write lets them put another directory in the gate's place, unless it is sticky", () => {
    const open = [dir("/", 0, 0o755), dir("/srv", 0, 0o777), dir("/srv/www", 0, 0o755, { holdsGate: true })];
    expect(gateExposure(open, ME)).toEqual({ dir: "/srv", by: "others" });
    const sticky = [
      dir("/", 0, 0o755),
      dir("/srv", 0, 0o1777),
      dir("/srv/www", 0, 0o755, { holdsGate: true }),
    ];
    expect(gateExposure(sticky, ME)).toBeUndefined();
    // sticky protects only what the directory's other users do not own
    const theirs = [
      dir("/", 0, 0o755),
      dir("/srv", 0, 0o1777),
      dir("/srv/www", 33, 0o755, { holdsGate: true }),
    ];
    expect(gateExposure(theirs, ME)).toEqual({ dir: "/srv/www", by: "owner", uid: 33 });
  });

  it("the first exposure from the root down is the one named", () => {
    const both = [dir("/", 0, 0o755), dir("/srv", 7, 0o755), dir("/srv/www", 0, 0o777, { holdsGate: true })];
    expect(gateExposure(both, ME)).toEqual({ dir: "/srv", by: "owner", uid: 7 });
  });

  it("the warning names the directory, who may write it, the gate, and what to do", () => {
    const ids = { userName: (u: number) => (u === 33 ? "www-data" : String(u)), groupName: () => "deploy" };
    expect(exposureWarning("/srv/www/ping.html", { dir: "/srv/www", by: "owner", uid: 33 }, ids)).toBe(
      "/srv/www belongs to user www-data: a process of theirs can write the gate /srv/www/ping.html " +
        "before the boot opens it, and the load balancer would send requests early; " +
        "put the gate where only root can write",
    );
    expect(exposureWarning("/g/ping", { dir: "/g", by: "group", gid: 5 }, ids)).toMatch(
      /^\/g is writable by group deploy: /,
    );
  });
});

describe("gateDirExposure (under a temporary root)", () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const euid = process.geteuid?.() ?? 0;

  it("reads each directory from the root down to the gate's", () => {
    root = mkdtempSync(path.join(tmpdir(), "gate-exposure-"));
    mkdirSync(path.join(root, "srv/www"), { recursive: true, mode: 0o755 });
    chmodSync(path.join(root, "srv"), 0o755);
    chmodSync(path.join(root, "srv/www"), 0o755);
    const fs = new RootFs(root);
    expect(gateDirExposure(fs, "/srv/www/ping.html", euid)).toBeUndefined();
    chmodSync(path.join(root, "srv/www"), 0o757);
    expect(gateDirExposure(fs, "/srv/www/ping.html", euid)).toEqual({ dir: "/srv/www", by: "others" });
    // a gate directory the boot will make (root's) is judged by the ancestors that exist
    chmodSync(path.join(root, "srv/www"), 0o1777);
    expect(gateDirExposure(fs, "/srv/www/new/ping.html", euid)).toBeUndefined();
    expect(gateDirExposure(fs, "/srv/www/ping.html", euid)).toEqual({ dir: "/srv/www", by: "others" });
  });

  it.runIf(euid === 0)("a directory owned by another user, and a link on the way (not followed)", () => {
    root = mkdtempSync(path.join(tmpdir(), "gate-exposure-"));
    mkdirSync(path.join(root, "srv/www"), { recursive: true, mode: 0o755 });
    chmodSync(path.join(root, "srv/www"), 0o755);
    chownSync(path.join(root, "srv/www"), 65534, 65534);
    const fs = new RootFs(root);
    expect(gateDirExposure(fs, "/srv/www/ping.html", euid)).toEqual({
      dir: "/srv/www",
      by: "owner",
      uid: 65534,
    });
    symlinkSync("/etc", path.join(root, "srv/link"));
    expect(gateDirExposure(fs, "/srv/link/ping.html", euid)).toBeUndefined();
  });
});
