/**
 * The resource contract. A resource kind is a small module with a zod schema for its props and
 * four steps, after Chef's resources and pyinfra's facts/operations split:
 *   prepare (optional): compute the desired state from the config repo (render a template);
 *   read:  the current state of the host, no side effects;
 *   diff:  PURE: desired vs current -> changes ([] = up to date), each with a key and a line;
 *   apply: make exactly those changes.
 * Only the runner (src/runner/converge.ts) decides whether apply is called, and it reads again
 * after apply to verify it.
 */
import type { z } from "zod";
import type { Exec } from "../host/exec.ts";
import type { RootFs } from "../host/root-fs.ts";

/**
 * What a change does, for code (the report's readers, the runner, a kind's own apply) to match on
 * instead of the human wording. Each kind uses the ones that fit it:
 *   create, delete, remove, replace: the whole thing (file, directory, link, user, group);
 *   content, mode, owner, group: a file's (or unit's) bytes and metadata; touch: its mtime;
 *   refuse: a change apply will refuse (a directory where a file is to be deleted);
 *   target: where a link points; run: a command; refresh: a notification's refresh;
 *   clone, origin, revision: a git checkout; install, upgrade, purge: packages;
 *   enable, disable, start, stop, restart, reload: a service;
 *   uid, gid, home, shell, comment: an account's fields (group: a user's primary group).
 */
export type ChangeKey =
  | "create"
  | "delete"
  | "remove"
  | "replace"
  | "refuse"
  | "content"
  | "mode"
  | "owner"
  | "group"
  | "touch"
  | "target"
  | "run"
  | "refresh"
  | "clone"
  | "origin"
  | "revision"
  | "install"
  | "upgrade"
  | "purge"
  | "enable"
  | "disable"
  | "start"
  | "stop"
  | "restart"
  | "reload"
  | "uid"
  | "gid"
  | "home"
  | "shell"
  | "comment";

export interface Change {
  /** What it changes, for code: never match `what`, whose wording is for people. */
  key: ChangeKey;
  /** One line: "set mode to 0644 (was 0600)". */
  what: string;
  /** Optional detail printed indented below it (a unified diff); never set for sensitive values. */
  detail?: string;
}

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** A progress line for a long step (clone, package install). */
  progress(msg: string): void;
}

export interface ResourceContext {
  fs: RootFs;
  exec: Exec;
  /** The config repository being converged (templates/, files/ live here). */
  repoDir: string;
  dryRun: boolean;
  log: Logger;
  /** Process environment for child processes (git, commands). */
  env: Record<string, string | undefined>;
  /** Resolved owner/group names against the root's /etc/passwd and /etc/group. */
  ids: IdResolver;
}

export interface IdResolver {
  uid(name: string | number): number;
  gid(name: string | number): number;
  userName(uid: number): string;
  groupName(gid: number): string;
  /** Forget what was read (the user and group resources change /etc/passwd and /etc/group). */
  reset(): void;
  /** A user's account: its id, primary group and home, as login(1) would set them up. */
  account?(user: string | number): { name: string; uid: number; gid: number; home: string } | undefined;
}

/** Props every resource accepts, whatever its kind (see src/core/common-props.ts). */
export interface CommonProps {
  action?: string;
  onlyIf?: Guard;
  notIf?: Guard;
  notifies?: NotificationSpec | NotificationSpec[];
  subscribes?: NotificationSpec | NotificationSpec[];
  retries?: number;
  retryDelay?: number;
  sensitive?: boolean;
  ignoreFailure?: boolean;
}

/** Where and as whom a command guard runs (see ResourceKind.guardExec): a host path, ids. */
export interface GuardExec {
  cwd: string;
  env: Record<string, string | undefined>;
  uid?: number;
  gid?: number;
}

/** A guard: a function (true = run) or a shell command (exit 0 = true). */
export type Guard = (() => boolean | Promise<boolean>) | string | string[];

export type Timing = "delayed" | "immediate";
/** See ResourceKind.dryRunPaths. */
export interface DryRunPaths {
  /** paths the apply would create */
  makes: string[];
  /** paths the apply would remove, with what is under them */
  removes?: string[];
  /** a directory that must exist for the apply, and the error the apply gives without it */
  needs?: { dir: string; problem: string };
  /** a directory made with its parents: each that exists must be a directory (the error names the first that is not) */
  ancestors?: { path: string; problem(at: string, type: string): string };
  /** what read found at `path` that the apply refuses, and the error; unless an earlier resource removes it */
  refused?: { path: string; problem: string };
  /** a directory the apply deletes only when empty, and the error it gives when it is not */
  empty?: { dir: string; problem: string };
  /** user and group names the apply looks up (an owner, a command's user) */
  users?: (string | number)[];
  groups?: (string | number)[];
  /** user and group names the apply would create */
  makesUsers?: string[];
  makesGroups?: string[];
}

/** "service[app]", or { resource: "service[app]", action: "restart", timing: "immediate" }. */
export type NotificationSpec = string | { resource: string; action?: string; timing?: Timing };

/**
 * P: the props; S: what read returns; R: the kind's own per-run store (see `runStore`), made by
 * the runner once per run and handed to prefetch, read and apply of every resource of the kind.
 */
export interface ResourceKind<P = any, S = any, R = any> {
  kind: string;
  /** The prop the resource's name fills when the prop itself is not given ("path"). */
  nameProp: string;
  /** True when the name is a path inside the root (must be absolute). */
  pathName: boolean;
  /** Props schema, without the common props (the runner adds those). */
  schema: z.ZodType<P>;
  actions: readonly string[];
  defaultAction: string;
  /** The action a notification runs when it names none. */
  defaultNotifyAction?: string;
  /**
   * Kinds that run a command every time (execute) are not idempotent by themselves: the runner
   * does not re-read them after apply and reports them as "ran".
   */
  runsEveryTime?(props: P): boolean;
  /**
   * True when the props hold a guard of the kind's own (execute's `creates`): a resource that
   * runs every time is then not reported as unguarded.
   */
  hasOwnGuard?(props: P): boolean;
  /**
   * How a command guard (onlyIf/notIf as a string) of this resource runs, for kinds that run a
   * command themselves: in its directory, with its environment, as its user (Chef's guards on
   * execute inherit cwd, environment, user and group). Default: in the root, as muster.
   */
  guardExec?(ctx: ResourceContext, props: P): GuardExec;
  /**
   * True when apply's only durable writes go through fs.writeFileAtomic and read looks at the
   * resource's own path alone: the runner may then hold its write in a write group (fsynced
   * together with its neighbours' writes, renamed in order) and check it after the group.
   */
  groupsWrites?: boolean;
  /**
   * With groupsWrites: true when apply, for these changes, acts only through fs.writeFileAtomic
   * (a new file, new content). Other changes (a delete, a mode change alone, a touch) act on the
   * host at once: the runner publishes what the group holds before such an apply runs, so nothing
   * declared after a resource that stops the run ever takes effect.
   */
  writesOnly?(changes: Change[]): boolean;
  /** "file[/etc/app.conf]": the report's and notifications' name for it; `name` is the declared one */
  id(props: P, name: string): string;
  prepare?(ctx: ResourceContext, props: P): Promise<P> | P;
  /**
   * Start, at the beginning of a run, slow work `read` or `apply` will need (the git resource asks
   * the remote which commit a branch names, and clones a new checkout aside): it then overlaps
   * with the resources declared before it. Whatever it starts must stop when `signal` aborts (the
   * run is over); the promise it may return settles once what it started has stopped and what it
   * left unused is cleaned up, and the run waits for it before it ends.
   */
  prefetch?(ctx: ResourceContext, props: P, signal: AbortSignal, store: R): Promise<void> | void;
  /**
   * A new per-run store for the kind: what its steps hand each other within one run (git: the
   * remote's answer prefetch asked for, the commit apply checked out for the read verifying it).
   * The runner makes it once per run; a kind without one gets no store.
   */
  runStore?(): R;
  read(ctx: ResourceContext, props: P, store: R): Promise<S> | S;
  diff(props: P, current: S): Change[];
  apply(ctx: ResourceContext, props: P, changes: Change[], current: S, store: R): Promise<void> | void;
  /**
   * The application revision a resource stands for, from what read returned (git: the commit it
   * converges to, changed or not); the report's appRevision is the first such resource's.
   */
  revisionOf?(current: S): string | undefined;
  /**
   * True when the changes an apply made already did what a refresh would (service: it started
   * or restarted). A refresh notified before the resource ran is then not run (as puppet
   * "unschedules" it): a service started after its config changed already runs that config.
   */
  refreshedBy?(changes: Change[]): boolean;
  /**
   * A dry run's model of what a change makes and removes, since nothing is made (Chef's why-run
   * assumes instead): the paths inside the root (and the accounts) the apply would create or
   * remove, and what it needs of the host, with the error the apply would give without it (a
   * parent directory, an empty directory to delete, an owner that exists). The runner checks
   * those against the host and what earlier resources of the same dry run would make or remove,
   * so a dry run fails where the run would, instead of saying "would create". Pure: what read
   * found is `current`.
   */
  dryRunPaths?(props: P, changes: Change[], current: S): DryRunPaths;
  /** What a notification's action runs when it is not a plain action (service: restart). */
  refresh?(ctx: ResourceContext, props: P, action: string): Promise<void> | void;
  /** PURE: why a refresh of these props would do nothing ("not running: running is false"), else undefined. */
  refreshIdle?(props: P): string | undefined;
  /** Checks at compile time that need the config repo (a template file exists and parses). */
  validate?(props: P, repoDir: string): string[];
}

export function defineResource<P, S, R = void>(kind: ResourceKind<P, S, R>): ResourceKind<P, S, R> {
  return kind;
}

/** "0644" / 0o644 / "644" -> 0o644; octal strings as Chef and Ansible take them. */
export function parseMode(mode: string | number): number {
  if (typeof mode === "number") return mode;
  return Number.parseInt(mode, 8);
}

export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
