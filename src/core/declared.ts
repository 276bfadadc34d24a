/** A resource as a recipe declared it, before the runner converges it. */
import type { CommonProps } from "./resource.ts";

export interface SourceLocation {
  /** relative to the config repo: "recipes/web.ts" */
  file: string;
  line: number;
}

export interface DeclaredResource {
  kind: string;
  name: string;
  /** validated props of the kind, the name filled in */
  props: Record<string, unknown>;
  common: CommonProps;
  id: string;
  recipe: string;
  source?: SourceLocation;
}

export function where(r: { recipe: string; source?: SourceLocation }): string {
  return r.source ? `${r.source.file}:${r.source.line}` : `recipe ${r.recipe}`;
}
