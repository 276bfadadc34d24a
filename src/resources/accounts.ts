/**
 * What the user and group resources share: the parsers of /etc/passwd and /etc/group (pure), the
 * name rule, and running shadow's tools (useradd, groupadd, ...) against the run's root. On the
 * host's own root they act on /etc; under a sandbox root their --prefix option points them at
 * the root's own /etc files, which must exist.
 */
import { RunError } from "../core/errors.ts";
import type { ResourceContext } from "../core/resource.ts";
import { z } from "../core/zod.ts";
import { lastLine } from "../host/exec.ts";

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  comment: string;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** name:password:uid:gid:comment:home:shell, one a line; comments and broken lines skipped. */
export function parsePasswd(text: string): Map<string, PasswdEntry> {
  const out = new Map<string, PasswdEntry>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.startsWith("+") || line.startsWith("-")) continue;
    const f = line.split(":");
    if (f.length < 7 || !f[0]) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid) || f[2] === "" || f[3] === "") continue;
    if (!out.has(f[0])) out.set(f[0], { name: f[0], uid, gid, comment: f[4], home: f[5], shell: f[6] });
  }
  return out;
}

/** name:password:gid:member,member */
export function parseGroup(text: string): Map<string, GroupEntry> {
  const out = new Map<string, GroupEntry>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.startsWith("+") || line.startsWith("-")) continue;
    const f = line.split(":");
    if (f.length < 4 || !f[0] || f[2] === "") continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    const members = f[3] ? f[3].split(",").filter(Boolean) : [];
    if (!out.has(f[0])) out.set(f[0], { name: f[0], gid, members });
  }
  return out;
}

/** useradd's own default NAME_REGEX, and its 32-character limit. */
const ACCOUNT_NAME = /^[a-z_][a-z0-9_-]*\$?$/;

export function accountName(what: "user" | "group") {
  const rule = `use lowercase letters, digits, _ and -, starting with a letter or _, at most 32 characters`;
  return z.string().superRefine((name, issues) => {
    if (name.length > 32 || !ACCOUNT_NAME.test(name))
      issues.addIssue({ code: "custom", message: `invalid ${what} name ${JSON.stringify(name)}: ${rule}` });
  });
}

/** A uid or gid: 0 .. 2^32-2 (2^32-1 is "no id"). */
export const accountId = z.number().int().min(0).max(4_294_967_294);

/**
 * PURE: does useradd make a group named like a new user given no group? login.defs'
 * USERGROUPS_ENAB says (read from the root, as useradd --prefix reads it); without it, no.
 */
export function userGroupsEnabled(loginDefs: string | undefined): boolean {
  let enabled = false;
  for (const line of (loginDefs ?? "").split("\n")) {
    const m = /^\s*USERGROUPS_ENAB\s+(\S+)/.exec(line);
    if (m) enabled = m[1]!.toLowerCase() === "yes";
  }
  return enabled;
}

/** `--prefix ROOT` under a sandbox root, nothing on the host's own root. */
export function prefixArgs(ctx: ResourceContext): string[] {
  return ctx.fs.isHostRoot ? [] : ["--prefix", ctx.fs.root];
}

const ACCOUNT_FILES = ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"];

/** Run useradd & co; a sandbox root must have its own account files for --prefix to edit. */
export async function runAccountTool(ctx: ResourceContext, argv: string[]): Promise<void> {
  if (!ctx.fs.isHostRoot) {
    const missing = ACCOUNT_FILES.filter((f) => ctx.fs.stat(f)?.type !== "file");
    if (missing.length > 0)
      throw new RunError(
        `the root has no ${missing.join(", ")}: ${argv[0]} --prefix edits the root's own account files; create them first (a file resource, or copy them from the image)`,
      );
  }
  // useradd and groupadd live in /usr/sbin, which Debian leaves off a non-root user's PATH
  const PATH = [ctx.env.PATH, "/usr/sbin", "/sbin"].filter(Boolean).join(":");
  const res = await ctx.exec(argv, { env: { ...ctx.env, PATH, LC_ALL: "C" }, timeoutMs: 60_000 });
  // the tool changed (or may have changed) the files every owner lookup reads
  ctx.ids.reset();
  if (res.code !== 0)
    throw new RunError(
      `${argv[0]} failed: ${lastLine(res.stderr) || lastLine(res.stdout) || `exit code ${res.code}`}${
        res.code === 10 || /Permission denied|cannot lock/.test(res.stderr) ? " (it needs root)" : ""
      }`,
    );
}
