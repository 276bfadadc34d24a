/** The API recipes import: `import { recipe } from "muster"`. */

export type { NodeInfo, RecipeDefinition, RecipeDsl } from "./config/recipe-api.ts";
export { recipe } from "./config/recipe-api.ts";
export type { CommonProps, Guard, NotificationSpec } from "./core/resource.ts";
export type { Platform, PlatformFamily } from "./host/platform.ts";
