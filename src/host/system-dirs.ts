/**
 * The host's own directories, which muster never removes whole: `muster image prepare` refuses
 * them as an `image.clean` path or a state directory (src/boot/boot-config.ts), and the compile
 * phase refuses a resource that would delete one or take it over (src/resources/protected-paths.ts).
 * One list, so both refuse the same directories.
 */
import * as path from "node:path";

export const SYSTEM_DIRS: ReadonlySet<string> = new Set([
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/home",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/media",
  "/mnt",
  "/opt",
  "/proc",
  "/root",
  "/run",
  "/sbin",
  "/srv",
  "/sys",
  "/tmp",
  "/usr",
  "/var",
  "/etc/muster",
  "/etc/systemd",
  "/usr/bin",
  "/usr/lib",
  "/usr/local",
  "/usr/sbin",
  "/usr/share",
  "/var/cache",
  "/var/lib",
  "/var/log",
  "/var/www",
  "/var/tmp",
]);

/**
 * PURE: a path inside the root as one spelling: "//etc/./muster/" is "/etc/muster", and "//",
 * "/." and "/x/.." are all "/" (the root itself). Lexical: ".." is not resolved through links.
 */
export function normalInside(p: string): string {
  return path.posix
    .normalize(p)
    .replace(/(.)\/+$/, "$1")
    .replace(/^\/+/, "/");
}
