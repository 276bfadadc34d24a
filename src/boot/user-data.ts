/**
 * `muster install --print-user-data`: a cloud-init user data (#cloud-config) that makes a plain
 * image a muster server: Node.js (unless the image has 20 or later), muster from npm, the boot
 * config, the systemd units, and a first boot run. On Debian and Ubuntu Node.js comes from
 * nodejs.org's tarball; on Amazon Linux 2023 from its own `nodejs20` package, through dnf.
 * PURE: settings in, text out.
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
  /** the image's distribution: "debian" (Debian, Ubuntu; the default) or "al2023" */
  platform?: UserDataPlatform;
}

/** shell condition: no node on PATH, or one older than 20 */
const NO_NODE_20 = `! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]`;

export const USER_DATA_PLATFORMS = ["debian", "al2023"] as const;
export type UserDataPlatform = (typeof USER_DATA_PLATFORMS)[number];

/**
 * Amazon Linux 2023's Node.js 20 is the `nodejs20` package (npm in `nodejs20-npm`); its binaries
 * are node-20 and npm-20, and `node`/`npm` are links the alternatives system points at the active
 * version. Should another (older) version be active, node-20 is linked first in /usr/local/bin,
 * which the commands below put first on PATH.
 */
export function al2023NodeScript(): string {
  return [
    "set -eu",
    "dnf install -y nodejs20 nodejs20-npm git",
    `if ${NO_NODE_20}; then`,
    "  ln -sf /usr/bin/node-20 /usr/local/bin/node",
    "  ln -sf /usr/bin/npm-20 /usr/local/bin/npm",
    "fi",
  ].join("\n");
}

export function nodeInstallScript(version: string): string {
  const v = version.replace(/^v/, "");
  return [
    "set -eu",
    `if ${NO_NODE_20}; then`,
    '  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "muster: unsupported CPU $(uname -m)" >&2; exit 1 ;; esac',
    `  curl -fsSL "https://nodejs.org/dist/v${v}/node-v${v}-linux-$arch.tar.xz" | tar -xJ -C /usr/local --strip-components=1 --no-same-owner`,
    "fi",
  ].join("\n");
}

export function cloudInitUserData(s: UserDataSettings): string {
  const al2023 = s.platform === "al2023";
  const doc = {
    // on Amazon Linux 2023 dnf installs what is needed in the first runcmd; git, curl and the
    // CA certificates of a Debian image come from cloud-init's own apt run
    ...(al2023 ? {} : { package_update: true, packages: ["git", "ca-certificates", "curl", "xz-utils"] }),
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
      ["sh", "-c", al2023 ? al2023NodeScript() : nodeInstallScript(s.nodeVersion)],
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
