/**
 * `muster install --print-user-data`: a cloud-init user data (#cloud-config) that makes a plain
 * image a muster server: Node.js (unless the image has 20 or later), muster from npm, the boot
 * config, the systemd units, and a first boot run. PURE: settings in, text out.
 */
import YAML from "yaml";
import { holdsCredentials } from "../resources/git-credentials.ts";

export interface UserDataSettings {
  /** the boot config's text (JSON or YAML), written to /etc/muster/boot.<ext> */
  bootConfig: string;
  bootConfigFormat: "json" | "yaml";
  /** npm install spec for muster (a version, a tarball URL, a git URL) */
  packageSpec: string;
  /** Node.js version installed from nodejs.org when the image has none (or one older than 20) */
  nodeVersion: string;
  /** start muster-health.service too (the boot config has gate.http) */
  health: boolean;
}

export function nodeInstallScript(version: string): string {
  const v = version.replace(/^v/, "");
  return [
    "set -eu",
    `if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then`,
    '  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "muster: unsupported CPU $(uname -m)" >&2; exit 1 ;; esac',
    `  curl -fsSL "https://nodejs.org/dist/v${v}/node-v${v}-linux-$arch.tar.xz" | tar -xJ -C /usr/local --strip-components=1 --no-same-owner`,
    "fi",
  ].join("\n");
}

export function cloudInitUserData(s: UserDataSettings): string {
  const doc = {
    package_update: true,
    packages: ["git", "ca-certificates", "curl", "xz-utils"],
    write_files: [
      {
        path: `/etc/muster/boot.${s.bootConfigFormat}`,
        // a repository token in it is for root's eyes only
        permissions: holdsCredentials(s.bootConfig) ? "0600" : "0644",
        owner: "root:root",
        content: s.bootConfig.endsWith("\n") ? s.bootConfig : `${s.bootConfig}\n`,
      },
    ],
    runcmd: [
      ["sh", "-c", nodeInstallScript(s.nodeVersion)],
      [
        "sh",
        "-c",
        `PATH=/usr/local/bin:$PATH npm install --global --no-fund --no-audit ${shellWord(s.packageSpec)}`,
      ],
      ["sh", "-c", "PATH=/usr/local/bin:$PATH muster install --root /"],
      ["systemctl", "daemon-reload"],
      [
        "systemctl",
        "start",
        "--no-block",
        ...(s.health ? ["muster-health.service"] : []),
        "muster-converge.timer",
      ],
      ["systemctl", "start", "--no-block", "muster-boot.service"],
    ],
  };
  return `#cloud-config\n# muster: Node.js, muster, /etc/muster/boot.${s.bootConfigFormat}, systemd units, then the first boot run.\n${YAML.stringify(doc, { lineWidth: 0 })}`;
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}
