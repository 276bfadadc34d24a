/**
 * Who else could open the gate: the boot removes the gate file first and writes it last, but a
 * user who may create files in the gate's directory can write it meanwhile, and the load
 * balancer then sends requests to a server that is still converging. muster cannot stop that
 * (the gate usually sits in a web root that a deploy user or the web server may write); it says
 * so once per boot, so the operator can move the gate or tighten the directory.
 *
 * PURE decision (gateExposure) over the directories' lstat, and the host part
 * (gateDirExposure) that reads them under a root.
 */
import * as path from "node:path";
import type { IdResolver } from "../core/resource.ts";
import type { RootFs } from "../host/root-fs.ts";

export interface DirOwnership {
  /** the directory, as the boot config names paths (inside the root) */
  path: string;
  uid: number;
  gid: number;
  /** permission bits, sticky bit included */
  mode: number;
  /** the gate's own directory (else one on the way to it) */
  holdsGate: boolean;
}

export type Exposure =
  | { dir: string; by: "owner"; uid: number }
  | { dir: string; by: "group"; gid: number }
  | { dir: string; by: "others" };

const STICKY = 0o1000;

/**
 * PURE: the first directory on the way to the gate (root first, the gate's own directory last)
 * where someone other than root and this user may put a gate file in place: its owner, when that
 * is another user; a group other than root's that may write it; anyone, when others may write it.
 * A sticky bit protects what is below an ancestor (others cannot rename or remove a directory
 * they do not own there), but not the gate's own directory: anyone who may write there may
 * create the gate, sticky bit or not.
 */
export function gateExposure(dirs: DirOwnership[], euid: number): Exposure | undefined {
  for (const d of dirs) {
    if (d.uid !== 0 && d.uid !== euid) return { dir: d.path, by: "owner", uid: d.uid };
    if (!d.holdsGate && d.mode & STICKY) continue;
    if (d.mode & 0o002) return { dir: d.path, by: "others" };
    if (d.mode & 0o020 && d.gid !== 0) return { dir: d.path, by: "group", gid: d.gid };
  }
  return undefined;
}

/** PURE: the warning's text. */
export function exposureWarning(
  gateFile: string,
  e: Exposure,
  ids: Pick<IdResolver, "userName" | "groupName">,
): string {
  const who =
    e.by === "owner"
      ? `${e.dir} belongs to user ${ids.userName(e.uid)}`
      : e.by === "group"
        ? `${e.dir} is writable by group ${ids.groupName(e.gid)}`
        : `${e.dir} is writable by every user`;
  return (
    `${who}: a process of theirs can write the gate ${gateFile} before the boot opens it, ` +
    "and the load balancer would send requests early; put the gate where only root can write"
  );
}

/** The directories from the root down to the gate's own, as lstat sees them (a missing one ends the list: the boot makes it, root's). */
export function gateDirExposure(fs: RootFs, gateFile: string, euid: number): Exposure | undefined {
  const dirs: DirOwnership[] = [];
  const parts = path.posix.dirname(gateFile).split("/").filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join("/")}`;
    const st = fs.lstat(p);
    // a link or a file on the way: the gate's write refuses it, and says so itself
    if (st?.type !== "directory") break;
    dirs.push({ path: p, uid: st.uid, gid: st.gid, mode: st.mode, holdsGate: i === parts.length });
  }
  return gateExposure(dirs, euid);
}
