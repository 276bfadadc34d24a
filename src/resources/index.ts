/** Every resource kind muster knows, by the name recipes call it with. */
import type { ResourceKind } from "../core/resource.ts";
import { directory } from "./directory.ts";
import { execute } from "./execute.ts";
import { file } from "./file.ts";
import { git } from "./git.ts";
import { group } from "./group.ts";
import { link } from "./link.ts";
import { packageKind } from "./package.ts";
import { service } from "./service.ts";
import { template } from "./template.ts";
import { user } from "./user.ts";

export const resourceKinds: Record<string, ResourceKind> = {
  directory,
  file,
  template,
  link,
  execute,
  git,
  package: packageKind,
  service,
  user,
  group,
};

/** Register a kind (used by the middleware kinds: package, service, user, group). */
export function registerKind(kind: ResourceKind): void {
  resourceKinds[kind.kind] = kind;
}
