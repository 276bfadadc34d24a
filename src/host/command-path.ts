/**
 * Where a command runs from, as a shell finds it: an absolute path as given, a bare name in the
 * first PATH directory that has an executable file of that name. The supervisor checks a
 * service's command before it starts it; the fleet finds the git its instances must see.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export function resolveCommand(cmd: string, PATH: string | undefined): string | undefined {
  if (cmd.includes("/")) return path.isAbsolute(cmd) && executable(cmd) ? cmd : undefined;
  for (const dir of (PATH ?? "").split(":"))
    if (dir && executable(path.join(dir, cmd))) return path.join(dir, cmd);
  return undefined;
}

function executable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
