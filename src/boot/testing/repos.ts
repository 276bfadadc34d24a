/** Config repo variants for boot tests. */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/**
 * Files of a config repo depending on a library vendored inside it (npm installs it offline):
 * with a matching lock file, without one, or with one out of step with package.json.
 */
export function localDependencyFiles(
  lock: "ok" | "none" | "out-of-sync" = "ok",
  /** a devDependency too, vendor/devtool (its files are the caller's) */
  withDev = false,
): Record<string, string> {
  const deps: Record<string, string> = { helper: "file:./vendor/helper" };
  if (lock === "out-of-sync") deps.other = "file:./vendor/other";
  const dev = withDev ? { devDependencies: { devtool: "file:./vendor/devtool" } } : {};
  const files: Record<string, string> = {
    "vendor/helper/package.json": JSON.stringify({ name: "helper", version: "1.0.0", main: "index.js" }),
    "vendor/helper/index.js": "export const greeting = 'hello';\n",
    "package.json": JSON.stringify({ name: "config", private: true, dependencies: deps, ...dev }),
  };
  if (lock !== "none")
    files["package-lock.json"] = JSON.stringify({
      name: "config",
      lockfileVersion: 3,
      requires: true,
      packages: {
        "": { name: "config", dependencies: { helper: "file:./vendor/helper" }, ...dev },
        "node_modules/helper": { resolved: "vendor/helper", link: true },
        "vendor/helper": { version: "1.0.0" },
        ...(withDev && {
          "node_modules/devtool": { resolved: "vendor/devtool", link: true, dev: true },
          "vendor/devtool": { version: "1.0.0", dev: true },
        }),
      },
    });
  return files;
}

/** Write those files into a directory. */
export function repoWithLocalDependency(dir: string, lock = true): void {
  for (const [rel, text] of Object.entries(localDependencyFiles(lock ? "ok" : "none"))) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
}
