/**
 * Run-list expansion (pure), as Chef's RunListExpansion does it: items expand depth-first in
 * order; a nested role's run list expands where it is named; each recipe runs once however often
 * it is listed (its first place wins); a role applied once is not applied again. A role's
 * attributes are merged after its own nested roles', so the outer role wins over the inner one
 * and a later role over an earlier one. Unlike Chef (which skips a role it has seen), a cycle is
 * an error that names it.
 */
import { InputError } from "../core/errors.ts";
import { type Attrs, deepMerge } from "./attributes.ts";
import type { Role, RunListItem } from "./role-schema.ts";

export interface Expansion {
  recipes: string[];
  roles: string[];
  defaultAttributes: Attrs;
  overrideAttributes: Attrs;
}

export function expandRunList(
  roles: Map<string, Role>,
  top: RunListItem[],
  environment?: string,
  from = "run list",
  /** which of a role's lists to expand: its run list, or its shutdown run list */
  which: "run" | "shutdown" = "run",
): Expansion {
  const recipes: string[] = [];
  const applied: string[] = [];
  let defaults: Attrs = {};
  let overrides: Attrs = {};

  const visit = (items: RunListItem[], stack: string[], origin: string) => {
    for (const item of items) {
      if (item.type === "recipe") {
        if (!recipes.includes(item.name)) recipes.push(item.name);
        continue;
      }
      if (stack.includes(item.name)) {
        const cycle = [...stack.slice(stack.indexOf(item.name)), item.name].join(" -> ");
        throw new InputError(`${origin}: role cycle ${cycle}; remove one of these role[] entries`);
      }
      if (applied.includes(item.name)) continue;
      const role = roles.get(item.name);
      if (!role) {
        const known = [...roles.keys()].sort().join(", ") || "none";
        throw new InputError(`${origin}: unknown role "${item.name}" (roles: ${known})`);
      }
      const list =
        which === "shutdown"
          ? role.shutdownRunList
          : (environment && role.envRunLists[environment]) || role.runList;
      visit(list, [...stack, item.name], role.file);
      applied.push(item.name);
      defaults = deepMerge(defaults, role.defaultAttributes);
      overrides = deepMerge(overrides, role.overrideAttributes);
    }
  };
  visit(top, [], from);
  return { recipes, roles: applied, defaultAttributes: defaults, overrideAttributes: overrides };
}

/** "nginx::site" -> "nginx"; "base" -> "base". */
export function cookbookOf(recipe: string): string {
  return recipe.split("::")[0];
}
