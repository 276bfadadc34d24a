/** template: a file whose content is an eta template under templates/ rendered with `variables`. */
import { defineResource } from "../core/resource.ts";
import { z } from "../core/zod.ts";
import {
  applyFile,
  type DesiredFile,
  diffFile,
  type FileState,
  fileBase,
  fileDryRunPaths,
  fileWritesOnly,
  readFileState,
} from "./file.ts";
import { renderTemplate } from "./template-render.ts";

const schema = z.strictObject({
  ...fileBase,
  /** a path under the config repo's templates/ ("site.conf.eta") */
  source: z.string().min(1),
  variables: z.record(z.string(), z.unknown()).optional(),
});
export type TemplateProps = z.infer<typeof schema>;

export const template = defineResource<TemplateProps & { bytes?: Buffer }, FileState>({
  kind: "template",
  nameProp: "path",
  pathName: true,
  schema,
  actions: ["create", "create-if-missing", "delete", "touch"],
  defaultAction: "create",
  runsEveryTime: (p) => p.action === "touch",
  groupsWrites: true,
  writesOnly: fileWritesOnly,
  id: (p) => `template[${p.path}]`,
  validate(p, repoDir) {
    // render now, at compile time: a syntax error or a variable the resource does not pass is
    // bad input (exit 2) found before anything is changed, not a failure half-way through
    if (p.action !== "delete") renderTemplate(repoDir, p.source, p.variables ?? {});
    return [];
  },
  prepare(ctx, p) {
    if (p.action === "delete") return p;
    return { ...p, bytes: Buffer.from(renderTemplate(ctx.repoDir, p.source, p.variables ?? {})) };
  },
  read: (ctx, p) => readFileState(ctx, p as DesiredFile),
  diff: (p, cur) => diffFile(p as DesiredFile, cur),
  apply: (ctx, p, changes, cur) => applyFile(ctx, p as DesiredFile, changes, cur),
  dryRunPaths: (p, changes, cur) => fileDryRunPaths(p as DesiredFile, changes, cur),
});
