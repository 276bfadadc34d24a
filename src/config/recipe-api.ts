/**
 * What a recipe sees. `recipe(name, fn)` is the default export of every recipe module; `fn`
 * receives the DSL object. Resource functions take the resource's name (the path, for path-based
 * kinds) and then its props, as Chef's resources do.
 */
import type { CommonProps, ResourceKind } from "../core/resource.ts";
import type { Platform } from "../host/platform.ts";

/** Props of a resource kind as a recipe writes them: the name prop optional, common props added. */
type PropsOf<P, NameProp extends string> = Omit<P, NameProp> &
  Partial<Pick<P, NameProp & keyof P>> &
  CommonProps;

export interface NodeInfo {
  /** the role being converged */
  role: string;
  hostname: string;
  /** the run's root ("/" on a host) */
  root: string;
  environment?: string;
  /**
   * the root's platform from its /etc/os-release: `family` "debian" (Debian, Ubuntu), "rhel"
   * (Amazon Linux, RHEL, Fedora) or "unknown"; `name` ("debian", "ubuntu", "amazon", "rhel") and
   * `version` ("12", "2023"). Branch on it where package names or paths differ.
   */
  platform: Platform;
  /** set by `muster boot`: instance id, availability zone, ... */
  instance?: Record<string, unknown>;
}

type KindProps<K> = K extends ResourceKind<infer P, any> ? P : never;
export type ResourceFn<K, N extends string> = (name: string, props?: PropsOf<KindProps<K>, N>) => string;

export interface RecipeDsl {
  /** merged attributes: cookbook defaults < role defaults < role overrides < --attr */
  attrs: Record<string, any>;
  node: NodeInfo;
  directory: ResourceFn<typeof import("../resources/directory.ts").directory, "path">;
  file: ResourceFn<typeof import("../resources/file.ts").file, "path">;
  template: ResourceFn<typeof import("../resources/template.ts").template, "path">;
  link: ResourceFn<typeof import("../resources/link.ts").link, "path">;
  execute: ResourceFn<typeof import("../resources/execute.ts").execute, "command">;
  git: ResourceFn<typeof import("../resources/git.ts").git, "destination">;
  package: ResourceFn<typeof import("../resources/package.ts").packageKind, "name">;
  service: ResourceFn<typeof import("../resources/service.ts").service, "name">;
  user: ResourceFn<typeof import("../resources/user.ts").user, "name">;
  group: ResourceFn<typeof import("../resources/group.ts").group, "name">;
  /** run another recipe here, once per run however often it is included */
  include: (recipe: string) => void;
}

export interface RecipeDefinition {
  readonly __musterRecipe: true;
  readonly name: string;
  readonly fn: (dsl: RecipeDsl) => void;
}

export function recipe(name: string, fn: (dsl: RecipeDsl) => void): RecipeDefinition {
  return { __musterRecipe: true, name, fn };
}

export function isRecipe(v: unknown): v is RecipeDefinition {
  return typeof v === "object" && v !== null && (v as RecipeDefinition).__musterRecipe === true;
}
