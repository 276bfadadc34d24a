/**
 * The platform a root runs: `node.platform` for recipes and the package resource's choice of
 * provider. Read from os-release(5) under the root; the parser is pure.
 */
import type { RootFs } from "./root-fs.ts";

/** debian: apt and dpkg (Debian, Ubuntu); rhel: dnf and rpm (Amazon Linux, RHEL, Fedora, ...). */
export type PlatformFamily = "debian" | "rhel" | "unknown";

export interface Platform {
  family: PlatformFamily;
  /** os-release's ID ("debian", "ubuntu", "rhel"), with Amazon Linux's "amzn" as "amazon" */
  name: string;
  /** VERSION_ID: "12", "24.04", "2023", "9.4"; "" when the file has none */
  version: string;
}

export const UNKNOWN_PLATFORM: Platform = { family: "unknown", name: "unknown", version: "" };

const DEBIAN_LIKE = new Set(["debian", "ubuntu"]);
const RHEL_LIKE = new Set(["rhel", "fedora", "centos", "amzn", "rocky", "almalinux", "ol"]);

/** os-release(5) is a shell-compatible list of KEY=value lines, values optionally quoted. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) {
      value = value.slice(1, -1);
      // inside double quotes the shell unescapes \" \\ \$ \`
      if (q === '"') value = value.replace(/\\(["\\$`])/g, "$1");
    }
    out[m[1]] = value;
  }
  return out;
}

/** The platform an os-release text describes; no ID at all is the unknown platform. */
export function platformOf(text: string | undefined): Platform {
  if (text === undefined) return UNKNOWN_PLATFORM;
  const f = parseOsRelease(text);
  const id = (f.ID ?? "").toLowerCase();
  if (!id) return UNKNOWN_PLATFORM;
  const like = [id, ...(f.ID_LIKE ?? "").toLowerCase().split(/\s+/).filter(Boolean)];
  const family: PlatformFamily = like.some((x) => DEBIAN_LIKE.has(x))
    ? "debian"
    : like.some((x) => RHEL_LIKE.has(x))
      ? "rhel"
      : "unknown";
  return { family, name: id === "amzn" ? "amazon" : id, version: f.VERSION_ID ?? "" };
}

/** The root's platform: /etc/os-release, else /usr/lib/os-release (the spec's fallback). */
export function readPlatform(fs: RootFs): Platform {
  return platformOf(fs.readText("/etc/os-release") ?? fs.readText("/usr/lib/os-release"));
}
