/**
 * user and group: the /etc parsers and plans from fixtures, and the real useradd/groupadd/usermod/
 * userdel/groupdel with --prefix against a temporary root's own /etc files (never the host's).
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { convergeDecls, type Decl } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { parseGroup, parsePasswd, userGroupsEnabled } from "./accounts.ts";
import { group, planGroup } from "./group.ts";
import { planUser, user } from "./user.ts";

afterAll(cleanupTmp);

// from a Debian 12 image, with the oddities the parsers must survive
const PASSWD = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
broken-line
app:x:990:990:the app, v2:/srv/app:/usr/sbin/nologin
+nisuser::::::
`;
const GROUP = `root:x:0:
adm:x:4:syslog,app
app:x:990:
bad:x::
`;

describe("userGroupsEnabled: does useradd make a group named like a new user (login.defs)", () => {
  it("yes only where USERGROUPS_ENAB says yes, the last setting winning; no login.defs: no", () => {
    expect(userGroupsEnabled("# USERGROUPS_ENAB yes\nUMASK 022\nUSERGROUPS_ENAB yes\n")).toBe(true);
    expect(userGroupsEnabled("USERGROUPS_ENAB yes\nUSERGROUPS_ENAB no\n")).toBe(false);
    expect(userGroupsEnabled("# USERGROUPS_ENAB yes\n")).toBe(false);
    expect(userGroupsEnabled(undefined)).toBe(false);
  });
});

describe("parsers", () => {
  it("/etc/passwd", () => {
    const p = parsePasswd(PASSWD);
    expect([...p.keys()]).toEqual(["root", "daemon", "_apt", "app"]);
    expect(p.get("app")).toEqual({
      name: "app",
      uid: 990,
      gid: 990,
      comment: "the app, v2",
      home: "/srv/app",
      shell: "/usr/sbin/nologin",
    });
  });
  it("/etc/group", () => {
    const g = parseGroup(GROUP);
    expect([...g.keys()]).toEqual(["root", "adm", "app"]);
    expect(g.get("adm")).toEqual({ name: "adm", gid: 4, members: ["syslog", "app"] });
  });
});

describe("plans", () => {
  const u = (p: Record<string, unknown>) => user.schema.parse({ name: "app", ...p });
  const entry = parsePasswd(PASSWD).get("app")!;

  it("create a missing user with every detail; reuse a group named like it", () => {
    expect(
      planUser(u({ uid: 990, system: true, home: "/srv/app", shell: "/bin/false" }), {
        ownGroupExists: true,
      }),
    ).toEqual({
      changes: [
        { key: "create", what: "create user app (uid 990, home /srv/app, shell /bin/false, system account)" },
      ],
      argv: [
        "useradd",
        "--system",
        "--uid",
        "990",
        "--gid",
        "app",
        "--home-dir",
        "/srv/app",
        "--shell",
        "/bin/false",
        "--no-create-home",
        "app",
      ],
    });
  });

  it("change only what differs, in one usermod", () => {
    const plan = planUser(u({ uid: 990, shell: "/bin/sh", gid: "adm", home: "/srv/app" }), {
      entry,
      wantGid: 4,
      ownGroupExists: true,
    });
    expect(plan.changes.map((c) => c.what)).toEqual([
      "set primary group of app to adm (was gid 990)",
      "set shell of app to /bin/sh (was /usr/sbin/nologin)",
    ]);
    expect(plan.argv).toEqual(["usermod", "--gid", "adm", "--shell", "/bin/sh", "app"]);
    expect(
      planUser(u({ uid: 990, gid: 990 }), { entry, wantGid: 990, ownGroupExists: true }).changes,
    ).toEqual([]);
  });

  it("remove only what exists", () => {
    expect(planUser(u({ action: "remove" }), { entry, ownGroupExists: true }).argv).toEqual([
      "userdel",
      "app",
    ]);
    expect(planUser(u({ action: "remove" }), { ownGroupExists: false }).changes).toEqual([]);
  });

  it("groups", () => {
    const g = (p: Record<string, unknown>) => group.schema.parse({ name: "app", ...p });
    expect(planGroup(g({ gid: 990, system: true }), {})).toEqual({
      changes: [{ key: "create", what: "create group app (gid 990, system group)" }],
      argv: ["groupadd", "--system", "--gid", "990", "app"],
    });
    const existing = parseGroup(GROUP).get("app");
    expect(planGroup(g({ gid: 991 }), { entry: existing }).argv).toEqual(["groupmod", "--gid", "991", "app"]);
    expect(planGroup(g({ gid: 990 }), { entry: existing }).changes).toEqual([]);
    expect(planGroup(g({ action: "remove" }), { entry: existing }).argv).toEqual(["groupdel", "app"]);
  });

  it("names must be valid user and group names", () => {
    const r = user.schema.safeParse({ name: "Bad Name" });
    expect(r.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([
      'name: invalid user name "Bad Name": use lowercase letters, digits, _ and -, starting with a letter or _, at most 32 characters',
    ]);
    expect(user.schema.safeParse({ name: "a".repeat(33) }).success).toBe(false);
    expect(group.schema.safeParse({ name: "www-data" }).success).toBe(true);
  });
});

/** A sandbox root with the minimal account files useradd --prefix edits. */
function rootWithAccounts(): string {
  const root = tmpDir("muster-accounts-");
  const etc = path.join(root, "etc");
  mkdirSync(etc);
  writeFileSync(path.join(etc, "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(path.join(etc, "group"), "root:x:0:\n");
  writeFileSync(path.join(etc, "shadow"), "root:*:19000:0:99999:7:::\n", { mode: 0o640 });
  writeFileSync(path.join(etc, "gshadow"), "root:*::\n", { mode: 0o640 });
  return root;
}

// useradd & co refuse to write even a --prefix root's files unless they run as root (CI does)
describe.runIf(process.getuid?.() === 0)("useradd and groupadd under a sandbox root (root only)", () => {
  const app: Decl[] = [
    { kind: "group", name: "app", props: { gid: 990, system: true } },
    {
      kind: "user",
      name: "app",
      props: {
        uid: 990,
        gid: "app",
        home: "/srv/app",
        shell: "/usr/sbin/nologin",
        system: true,
        comment: "the app",
      },
    },
    // resolves the new owner: the user resource reset the run's id cache
    { kind: "directory", name: "/srv/app", props: { recursive: true, owner: "app", group: "app" } },
  ];

  it("creates them in the root's own files, then a second run changes nothing", async () => {
    const root = rootWithAccounts();
    const hostPasswd = readFileSync("/etc/passwd", "utf8");
    const first = await convergeDecls(root, app);
    expect(first.outcome, first.error).toBe("converged");
    expect(first.resources.map((r) => r.changes[0]?.what)).toEqual([
      "create group app (gid 990, system group)",
      "create user app (uid 990, group app, home /srv/app, shell /usr/sbin/nologin, system account)",
      "create directory /srv/app",
    ]);
    expect(readFileSync(path.join(root, "etc/passwd"), "utf8")).toContain(
      "app:x:990:990:the app:/srv/app:/usr/sbin/nologin\n",
    );
    expect(readFileSync(path.join(root, "etc/group"), "utf8")).toContain("app:x:990:\n");
    expect(statSync(path.join(root, "srv/app")).uid).toBe(990);
    expect(readFileSync("/etc/passwd", "utf8")).toBe(hostPasswd);

    const second = await convergeDecls(root, app);
    expect(second.resources.map((r) => r.status)).toEqual(["up-to-date", "up-to-date", "up-to-date"]);
  });

  it("finds useradd and groupadd in /usr/sbin when the PATH it was given has none (a non-root user's on Debian)", async () => {
    const root = rootWithAccounts();
    const report = await convergeDecls(root, app.slice(0, 2), {
      ctx: { env: { ...process.env, PATH: "/usr/bin:/bin" } },
    });
    expect(report.outcome, report.error).toBe("converged");
    expect(readFileSync(path.join(root, "etc/group"), "utf8")).toContain("app:x:990:\n");
  });

  it("changes a property with usermod, then removes the user and the group", async () => {
    const root = rootWithAccounts();
    await convergeDecls(root, app.slice(0, 2));
    const shell = await convergeDecls(root, [
      { kind: "user", name: "app", props: { uid: 990, shell: "/bin/sh" } },
    ]);
    expect(shell.resources[0].changes.map((c) => c.what)).toEqual([
      "set shell of app to /bin/sh (was /usr/sbin/nologin)",
    ]);
    expect(readFileSync(path.join(root, "etc/passwd"), "utf8")).toContain(
      "app:x:990:990:the app:/srv/app:/bin/sh\n",
    );

    const gone = await convergeDecls(root, [
      { kind: "user", name: "app", props: { action: "remove" } },
      { kind: "group", name: "app", props: { action: "remove" } },
    ]);
    expect(gone.outcome, gone.error).toBe("converged");
    expect(readFileSync(path.join(root, "etc/passwd"), "utf8")).toBe("root:x:0:0:root:/root:/bin/sh\n");
    expect(readFileSync(path.join(root, "etc/group"), "utf8")).toBe("root:x:0:\n");
  });

  it("a root without its own account files fails clearly and changes nothing", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [{ kind: "group", name: "app" }]);
    expect(report.outcome).toBe("failed");
    expect(report.error).toBe(
      "group[app] (recipe test): the root has no /etc/passwd, /etc/group, /etc/shadow, /etc/gshadow: groupadd --prefix edits the root's own account files; create them first (a file resource, or copy them from the image)",
    );
  });

  it("a tool's own refusal is reported in one line", async () => {
    const root = rootWithAccounts();
    const report = await convergeDecls(root, [
      { kind: "user", name: "app", props: { gid: "no-such-group" } },
    ]);
    expect(report.outcome).toBe("failed");
    expect(report.error).toBe(
      "user[app] (recipe test): useradd failed: useradd: group 'no-such-group' does not exist",
    );
  });
});
