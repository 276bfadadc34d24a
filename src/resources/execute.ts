/**
 * execute: run a command. Not idempotent by itself: the runner reports it as "ran" every time
 * unless a guard (`creates`, onlyIf, notIf) says it is already done, and the report says so.
 */
import { RunError, TimeoutError } from "../core/errors.ts";
import { defineResource, type ResourceContext } from "../core/resource.ts";
import { absolutePath, ownerSchema } from "../core/schema-parts.ts";
import { z } from "../core/zod.ts";
import { lastLine } from "../host/exec.ts";
import { runAs } from "./run-as.ts";
import { shellInvocation } from "./shell-command.ts";

const schema = z.strictObject({
  /** argv (run directly) or a string (run by /bin/sh -c); defaults to the resource's name */
  command: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  cwd: absolutePath.optional(),
  /**
   * added to the command's environment. A name with "=" sets another variable (`"A=B": "x"` is A
   * set to "B=x"), an empty one an entry with no name, and a NUL in a name or value fails the exec
   * once the command is run: refused here, before anything runs (regex checks: a refine on a
   * resource's props slows the parse of every resource)
   */
  env: z
    .record(
      z.string().regex(/^[^=\0]+$/, {
        message: 'not a variable name (empty, or holding "=" or a NUL character); write { NAME: "value" }',
      }),
      z.string().regex(/^[^\0]*$/, { message: "must not contain a NUL character" }),
    )
    .optional(),
  user: ownerSchema.optional(),
  group: ownerSchema.optional(),
  /** a path inside the root: when it exists the command is not run */
  creates: absolutePath.optional(),
  /** exit codes that mean success */
  returns: z.union([z.number().int(), z.array(z.number().int())]).optional(),
  /** seconds */
  timeout: z.number().positive().optional(),
  /** run: every converge; nothing: only when notified */
  action: z.enum(["run", "nothing"]).optional(),
  sensitive: z.boolean().optional(),
});
export type ExecuteProps = z.infer<typeof schema>;
type Current = { createsExists: boolean };

/** The command's environment, and its guards': muster's, the user's (HOME...), the root, its own. */
function commandEnv(
  ctx: ResourceContext,
  as: ReturnType<typeof runAs>,
  p: ExecuteProps,
): Record<string, string | undefined> {
  return { ...ctx.env, ...as.env, MUSTER_ROOT: ctx.fs.root, ...p.env };
}

export const execute = defineResource<ExecuteProps, Current>({
  kind: "execute",
  nameProp: "command",
  pathName: false,
  schema,
  actions: ["run", "nothing"],
  defaultAction: "run",
  defaultNotifyAction: "run",
  runsEveryTime: () => true,
  hasOwnGuard: (p) => p.creates !== undefined,
  // a command guard runs as the command would (Chef's guards on execute inherit cwd,
  // environment, user and group): `onlyIf: "test -e data"` with `cwd` looks in that directory
  guardExec(ctx, p) {
    const as = runAs(ctx, p.user, p.group);
    return {
      cwd: p.cwd ? ctx.fs.hostPath(p.cwd) : ctx.fs.root,
      env: commandEnv(ctx, as, p),
      uid: as.uid,
      gid: as.gid,
    };
  },
  // by its name, as Chef's: `notifies: "execute[reload-app]"`, and a sensitive command is never
  // printed as part of it
  id: (_p, name) => `execute[${name}]`,
  read: (ctx, p) => ({ createsExists: p.creates !== undefined && ctx.fs.lstat(p.creates) !== undefined }),
  diff(p, cur) {
    if (p.action === "nothing" || cur.createsExists) return [];
    return [{ key: "run", what: p.sensitive ? "run command (sensitive)" : `run \`${commandText(p)}\`` }];
  },
  // the user and group it runs as are looked up before it runs
  dryRunPaths: (p) => ({
    makes: [],
    users: p.user === undefined ? [] : [p.user],
    groups: p.group === undefined ? [] : [p.group],
  }),
  async apply(ctx, p) {
    // a sensitive command never on a command line: see shell-command.ts
    const { argv, shell, input } = shellInvocation(p.command, p.sensitive);
    const as = runAs(ctx, p.user, p.group);
    // the working directory is handed over held (RootFs.openDir), not as a path to resolve again;
    // its host path is for a message and for an exec that is not the real one
    const cwdPath = p.cwd ? ctx.fs.hostPath(p.cwd) : ctx.fs.root;
    const cwd = ctx.fs.openDir(p.cwd ?? "/");
    let res: Awaited<ReturnType<typeof ctx.exec>>;
    try {
      res = await ctx.exec(argv, {
        shell,
        input,
        cwd: cwdPath,
        cwdFd: cwd.fd,
        env: commandEnv(ctx, as, p),
        uid: as.uid,
        gid: as.gid,
        timeoutMs: (p.timeout ?? 600) * 1000,
      });
    } catch (err) {
      // the exec's own message quotes the command: not for a sensitive one, and in seconds
      if (err instanceof TimeoutError)
        throw new TimeoutError(
          `${p.sensitive ? "the command (sensitive)" : `\`${commandText(p)}\``} did not finish within ${p.timeout ?? 600} s`,
        );
      throw err;
    } finally {
      cwd.close();
    }
    const ok = [p.returns ?? 0].flat();
    if (!ok.includes(res.code)) {
      const why = p.sensitive ? "(output hidden: sensitive)" : lastLine(res.stderr) || lastLine(res.stdout);
      throw new RunError(
        `exited with code ${res.code} (expected ${ok.join(" or ")})${why ? `: ${why}` : ""}`,
      );
    }
  },
  refresh: () => {}, // a notification's default action is "run", handled by the runner
});

function commandText(p: ExecuteProps): string {
  const s = Array.isArray(p.command) ? p.command.join(" ") : p.command;
  return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}
