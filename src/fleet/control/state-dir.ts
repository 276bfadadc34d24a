/**
 * The fleet's state directory (STATE): the files a fleet keeps there (FLEET_FILES), what
 * `muster fleet up` clears before it starts, when it must refuse a directory (not a fleet's, or
 * holding the fleet's own inputs), and stopping what a fleet whose daemon is gone left running.
 *
 *   fleet.json      the daemon: pid and start time, control socket, load balancer URL (daemon.ts)
 *   operator-keys.json  the operator's keys for the Auto Scaling emulator, 0600 (`muster fleet env`)
 *   events.jsonl    the event log
 *   pids.json       every process the fleet started, with its start time
 *   lb/             the load balancer's files and its access log
 *   instances/ID/   one instance, its root in root/;  repos/, image/  what the fleet serves and copies
 *
 * The fleet runs as root and kills what pids.json lists: its state directory must be this user's
 * alone (src/host/private-dir.ts), or another user could plant that list, or links that make the
 * fleet rewrite a file of root's. One that is not is refused by every fleet command. So is one
 * with any directory above it (from /, links followed) that another user owns or may write (not
 * sticky, as /tmp is): they could rename the state directory, or one above it, away while the
 * fleet runs and put a link or one of their own in its place.
 */
import { existsSync, lstatSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { InputError } from "../../core/errors.ts";
import { makePrivateDir, privateDirProblem, unsafeAncestorProblem } from "../../host/private-dir.ts";
import { stopSupervisor } from "../../providers/supervisor-client.ts";
import { fleetProcesses, type PidRecord, signal, waitGone } from "../instances/processes.ts";

export const FLEET_FILES = {
  events: "events.jsonl",
  pids: "pids.json",
  info: "fleet.json",
  accessLog: "lb/access.jsonl",
  /** the operator's keys for the Auto Scaling emulator (0600; operator-keys.ts) */
  operatorKeys: "operator-keys.json",
} as const;

/** What `muster fleet up` clears in its state directory before it starts. */
export const CLEARED_AT_START = ["instances", "repos", "image", "lb", FLEET_FILES.events, FLEET_FILES.pids];

const refusal = (stateDir: string, why: string) =>
  `state directory ${stateDir}: ${why}; it must be a directory of this user's that only it can write (mode 700), or give another --state-dir`;

/** Why a directory above the state directory lets another user replace it (missing ones are made 0700). */
function ancestorProblem(stateDir: string): string | undefined {
  const why = unsafeAncestorProblem(stateDir);
  return (
    why &&
    `state directory ${stateDir}: ${why}, so another user could put something else in its place; give a --state-dir whose every directory above it only this user or root can write (or is sticky, as /tmp)`
  );
}

/**
 * Why this state directory must not be used, as one line: it is a link or not a directory,
 * another user owns it, or group or others may write it or a directory above it. A missing one
 * is fine (made 0700).
 */
export function stateDirAccessProblem(stateDir: string): string | undefined {
  const above = ancestorProblem(stateDir);
  if (above) return above;
  if (!lstatSync(stateDir, { throwIfNoEntry: false })) return undefined;
  const why = privateDirProblem(stateDir);
  return why && refusal(stateDir, why);
}

/** Make the state directory 0700 (with its parents), or refuse it (InputError) as above. */
export function ensureStateDir(stateDir: string): void {
  // checked before anything is made in a directory others may write
  const above = ancestorProblem(stateDir);
  if (above) throw new InputError(above);
  const why = makePrivateDir(stateDir);
  if (why) throw new InputError(refusal(stateDir, why));
  const made = ancestorProblem(stateDir); // one made just now, or swapped meanwhile
  if (made) throw new InputError(made);
}

/**
 * Why `muster fleet up` must not start on this state directory, one line each: it clears
 * CLEARED_AT_START there, so a directory that is not a fleet's (no fleet.json) must not hold any
 * of them, and the fleet's own inputs (fleet.yaml's image and repositories) must not lie in them.
 */
export function stateDirProblems(
  stateDir: string,
  source: string,
  inputs: { field: string; path: string | undefined }[],
): string[] {
  // a directory the fleet copies (a repository to commit, the image) must not hold its state:
  // each copy would hold the copy before it, and `cp` refuses to copy a directory into itself
  const problems: string[] = [];
  for (const { field, path: p } of inputs)
    if (p && field.endsWith(".dir") && (stateDir === p || stateDir.startsWith(`${p}/`)))
      problems.push(
        `${source}: stateDir: ${stateDir} is inside ${field} (${p}), which the fleet copies; put the state directory elsewhere`,
      );
  const st = lstatSync(stateDir, { throwIfNoEntry: false });
  if (!st) {
    const above = ancestorProblem(stateDir);
    return above ? [...problems, above] : problems;
  }
  if (!st.isDirectory() && !st.isSymbolicLink())
    return [`state directory ${stateDir}: not a directory; give a new or empty directory`];
  // what is in a directory another user may write tells nothing: it is refused as it is
  const access = stateDirAccessProblem(stateDir);
  if (access) return [...problems, access];
  if (!existsSync(path.join(stateDir, FLEET_FILES.info))) {
    const there = CLEARED_AT_START.filter((n) => existsSync(path.join(stateDir, n)));
    if (there.length > 0)
      problems.push(
        `state directory ${stateDir}: not a fleet's (no ${FLEET_FILES.info}) but holds ${there.join(", ")}, which \`muster fleet up\` clears; give a new or empty directory`,
      );
  }
  for (const { field, path: p } of inputs) {
    const inside =
      p &&
      CLEARED_AT_START.find(
        (n) => p === path.join(stateDir, n) || p.startsWith(`${path.join(stateDir, n)}/`),
      );
    if (inside)
      problems.push(
        `${source}: ${field}: ${p} is inside the state directory's ${inside}, which \`muster fleet up\` clears; move it, or choose another stateDir`,
      );
  }
  return problems;
}

/** Stop what an earlier fleet on this state directory left running, then clear its files. */
export async function clearStateDir(stateDir: string): Promise<void> {
  await stopLeftovers(stateDir);
  for (const d of CLEARED_AT_START) rmSync(path.join(stateDir, d), { recursive: true, force: true });
}

/**
 * Stop what a fleet whose daemon is gone left running on `stateDir`: each instance's supervisor
 * first, asked to stop its services (killed first, a supervisor would start them again), then
 * whatever of the fleet is still there. Returns what had to be killed.
 */
export async function stopLeftovers(stateDir: string): Promise<PidRecord[]> {
  const instances = path.join(stateDir, "instances");
  if (existsSync(instances))
    await Promise.all(
      readdirSync(instances).map((id) =>
        stopSupervisor(path.join(instances, id, "root"), 5000).catch(() => false),
      ),
    );
  const left = fleetProcesses(stateDir).map((p) => ({
    pid: p.pid,
    start: p.start,
    role: p.argv.slice(0, 4).join(" ") || "leftover",
  }));
  for (const p of left) signal(p.pid, "SIGKILL", false);
  await waitGone(left, 5000);
  return left;
}
