/**
 * file: a regular file's content, mode and owner; content inline or a `source` under the config
 * repo's files/. Actions create, create-if-missing, delete, touch. template.ts reuses all of it.
 */
import { readRepoSource } from "../config/source-path.ts";
import { InputError, RunError } from "../core/errors.ts";
import {
  type Change,
  type DryRunPaths,
  defineResource,
  formatMode,
  parseMode,
  type ResourceContext,
} from "../core/resource.ts";
import { absolutePath, modeSchema, ownerSchema } from "../core/schema-parts.ts";
import { z } from "../core/zod.ts";
import { contentChange } from "./content-diff.ts";
import {
  accountsOf,
  applyOwnership,
  madeInParent,
  type OwnedStat,
  ownershipChanges,
  requireParentDir,
  resolveIds,
  withNames,
} from "./ownership.ts";

export const fileActions = ["create", "create-if-missing", "delete", "touch"] as const;

export const fileBase = {
  path: absolutePath,
  mode: modeSchema.optional(),
  owner: ownerSchema.optional(),
  group: ownerSchema.optional(),
  action: z.enum(fileActions).optional(),
  sensitive: z.boolean().optional(),
};

const schema = z
  .strictObject({
    ...fileBase,
    /** text, or bytes (a Buffer or any Uint8Array) */
    content: z.union([z.string(), z.instanceof(Uint8Array)]).optional(),
    /** a path under the config repo's files/ */
    source: z.string().optional(),
  })
  .refine((p) => !(p.content !== undefined && p.source !== undefined), {
    message: "give content or source, not both",
  });
export type FileProps = z.infer<typeof schema>;

/** What file and template hand to the shared read/diff/apply: the desired bytes resolved. */
export interface DesiredFile {
  path: string;
  mode?: string | number;
  owner?: string | number;
  group?: string | number;
  action?: (typeof fileActions)[number];
  sensitive?: boolean;
  /** undefined: content not managed (touch, or a file without content). */
  bytes?: Buffer;
}

export type FileState =
  | { kind: "missing" }
  | { kind: "file"; stat: OwnedStat; bytes?: Buffer }
  | { kind: "other"; type: string };

export function readFileState(ctx: ResourceContext, p: DesiredFile): FileState {
  const st = ctx.fs.stat(p.path);
  if (!st) return { kind: "missing" };
  if (st.type !== "file") return { kind: "other", type: st.type };
  // the content is read only when it is compared: a size mismatch already says "changed",
  // but the old bytes are still wanted for the diff shown to the operator
  const bytes = p.bytes !== undefined ? ctx.fs.readFile(p.path) : undefined;
  return { kind: "file", stat: withNames(ctx, st), bytes };
}

/** PURE: may every user read a file of this mode (the others' read bit)? */
function readableByAll(mode: number): boolean {
  return (mode & 0o004) !== 0;
}

export function diffFile(p: DesiredFile, cur: FileState): Change[] {
  const action = p.action ?? "create";
  if (cur.kind === "other")
    return action === "delete"
      ? [{ key: "refuse", what: `refuse: ${p.path} is a ${cur.type}, not a file` }]
      : [{ key: "replace", what: `replace ${cur.type} at ${p.path} with a file` }];
  if (action === "delete")
    return cur.kind === "file" ? [{ key: "delete", what: `delete file ${p.path}` }] : [];
  const wanted = p.mode !== undefined ? parseMode(p.mode) : undefined;
  if (cur.kind === "missing") {
    const hidden = p.sensitive ? "sensitive" : !readableByAll(wanted ?? 0o644) && "private";
    const changes: Change[] = [contentChange(p.path, undefined, p.bytes ?? Buffer.alloc(0), hidden)];
    changes.push({ key: "mode", what: `set mode to ${formatMode(parseMode(p.mode ?? "0644"))}` });
    if (p.owner !== undefined) changes.push({ key: "owner", what: `set owner to ${p.owner}` });
    if (p.group !== undefined) changes.push({ key: "group", what: `set group to ${p.group}` });
    return changes;
  }
  const changes: Change[] = [];
  if (action === "touch") changes.push({ key: "touch", what: "update modification time" });
  if (action === "create" && p.bytes !== undefined && cur.bytes !== undefined && !p.bytes.equals(cur.bytes))
    changes.push(
      contentChange(
        p.path,
        cur.bytes,
        p.bytes,
        p.sensitive
          ? "sensitive"
          : (!readableByAll(cur.stat.mode) || !readableByAll(wanted ?? cur.stat.mode)) && "private",
      ),
    );
  changes.push(...ownershipChanges(p, cur.stat));
  return changes;
}

/** PURE: applyFile makes these changes with one atomic write and nothing else (see writesOnly). */
export function fileWritesOnly(changes: Change[]): boolean {
  return (
    changes.some((c) => c.key === "create" || c.key === "content") &&
    !changes.some((c) => c.key === "replace" || c.key === "delete" || c.key === "refuse" || c.key === "touch")
  );
}

/** PURE: the error apply refuses what read found at the path with, or undefined. */
export function fileRefusal(p: DesiredFile, cur: FileState): string | undefined {
  if (cur.kind !== "other") return undefined;
  if ((p.action ?? "create") === "delete") return `${p.path} is a ${cur.type}, not a file; remove it by hand`;
  if (cur.type === "directory") return `${p.path} is a directory; remove it or choose another path`;
  return undefined;
}

/** PURE: what a dry run models of a file's or template's apply (see ResourceKind.dryRunPaths). */
export function fileDryRunPaths(p: DesiredFile, changes: Change[], cur: FileState): DryRunPaths {
  const problem = fileRefusal(p, cur);
  const refused = problem !== undefined ? { refused: { path: p.path, problem } } : {};
  if ((p.action ?? "create") === "delete")
    return { makes: [], removes: changes.some((c) => c.key === "delete") ? [p.path] : [], ...refused };
  return { ...madeInParent(p.path, "file", changes), ...refused, ...accountsOf(p) };
}

export function applyFile(ctx: ResourceContext, p: DesiredFile, changes: Change[], cur: FileState): void {
  const action = p.action ?? "create";
  if (cur.kind === "other") {
    const refused = fileRefusal(p, cur);
    if (refused) throw new RunError(refused);
    ctx.fs.remove(p.path);
  }
  if (action === "delete") {
    ctx.fs.remove(p.path);
    return;
  }
  requireParentDir(ctx, p.path, "file");
  const needsWrite = cur.kind !== "file" || changes.some((c) => c.key === "content");
  if (needsWrite) {
    const mode = p.mode !== undefined ? parseMode(p.mode) : cur.kind === "file" ? cur.stat.mode : 0o644;
    const { uid, gid } = resolveIds(ctx, p);
    const keepUid = cur.kind === "file" ? cur.stat.uid : undefined;
    const keepGid = cur.kind === "file" ? cur.stat.gid : undefined;
    ctx.fs.writeFileAtomic(p.path, p.bytes ?? Buffer.alloc(0), {
      mode,
      uid: uid ?? keepUid,
      gid: gid ?? keepGid,
    });
    return;
  }
  if (action === "touch") ctx.fs.touch(p.path);
  applyOwnership(ctx, p.path, p);
}

export const file = defineResource<FileProps & { bytes?: Buffer }, FileState>({
  kind: "file",
  nameProp: "path",
  pathName: true,
  schema,
  actions: fileActions,
  defaultAction: "create",
  runsEveryTime: (p) => p.action === "touch",
  groupsWrites: true,
  writesOnly: fileWritesOnly,
  id: (p) => `file[${p.path}]`,
  validate(p, repoDir) {
    if (p.source !== undefined) readSource(repoDir, p.source);
    return [];
  },
  prepare(ctx, p) {
    if (p.source !== undefined) return { ...p, bytes: readSource(ctx.repoDir, p.source) };
    if (p.content !== undefined) return { ...p, bytes: Buffer.from(p.content) };
    return p;
  },
  read: (ctx, p) => readFileState(ctx, p),
  diff: (p, cur) => diffFile(p, cur),
  apply: (ctx, p, changes, cur) => applyFile(ctx, p, changes, cur),
  dryRunPaths: (p, changes, cur) => fileDryRunPaths(p, changes, cur),
});

/** A source under the config repo's files/, read only from inside the repo (links followed). */
function readSource(repoDir: string, source: string): Buffer {
  const bytes = readRepoSource(repoDir, "files", source);
  if (bytes === undefined) throw new InputError(`source: files/${source} does not exist in the config repo`);
  return bytes;
}
