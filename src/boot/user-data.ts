/**
 * `muster install --print-user-data`: a cloud-init user data (#cloud-config) that makes a plain
 * image a muster server: Node.js (unless the image has 20 or later), muster, the boot config, the
 * systemd units, and a first boot run. On Debian and Ubuntu Node.js comes from the distribution
 * when it is new enough, else from nodejs.org's tarball; on Amazon Linux 2023 from its own
 * `nodejs20` package, through dnf (its repositories are signed). PURE: settings in, text out.
 *
 * Everything the server downloads and runs as root is checked first against a digest carried in
 * the user data: the Node.js tarball against the SHA-256 its release publishes (SHASUMS256.txt),
 * muster's release archive against the SHA-256 `npm run release` wrote beside it (or a registry
 * package against its sha512 integrity). A download is written to a directory of its own, checked
 * with sha256sum/sha512sum -c, and only then unpacked or installed; each step runs under
 * `set -eu`, so a failed check stops the step before anything runs, and runcmd itself under
 * `set -e`, so no step after it runs: cloud-init goes on to no muster at all rather than one it
 * could not verify.
 */
import YAML from "yaml";
import { holdsCredentials } from "../resources/git-credentials.ts";

/** The CPUs the user data installs for: `uname -m` on the server, and the names of their builds. */
export const CPUS = [
  { uname: "x86_64", arch: "x64" },
  { uname: "aarch64", arch: "arm64" },
] as const;
export type Arch = (typeof CPUS)[number]["arch"];

/** A Node.js release from its official tarballs, with the SHA-256 of each linux-<arch>.tar.xz. */
export interface NodeRelease {
  version: string;
  sha256: Record<Arch, string>;
}

/**
 * The Node.js installed where the image's distribution has none new enough (Debian 12 and Ubuntu
 * 24.04 ship 18): v20.19.0, with the SHA-256 values of its SHASUMS256.txt.
 */
export const PINNED_NODE: NodeRelease = {
  version: "20.19.0",
  sha256: {
    x64: "b4e336584d62abefad31baecff7af167268be9bb7dd11f1297112e6eed3ca0d5",
    arm64: "dbe339e55eb393955a213e6b872066880bb9feceaa494f4d44c7aac205ec2ab9",
  },
};

/** A release archive in an S3 bucket (e.g. a CDK asset), read with the instance role. */
export interface S3Archive {
  bucket: string;
  key: string;
  sha256: string;
}

/**
 * Where muster comes from: release archives (one per CPU) at URLs, release archives in S3 (the
 * AWS CLI fetches them with the instance's credentials; `region` is the bucket's), or a registry
 * package.
 */
export type MusterSource =
  | { kind: "release"; archives: Partial<Record<Arch, { url: string; sha256: string }>> }
  | { kind: "s3"; region: string; archives: Partial<Record<Arch, S3Archive>> }
  | { kind: "package"; spec: string; sha512: string };

export interface UserDataSettings {
  /** the boot config's text (JSON or YAML), written to /etc/muster/boot.<ext> */
  bootConfig: string;
  bootConfigFormat: "json" | "yaml";
  muster: MusterSource;
  node: NodeRelease;
  /** start muster-health.service too (the boot config has gate.http) */
  health: boolean;
  /**
   * start muster-watch.service too, after the boot (the boot config reads instance metadata:
   * endpoints.metadata is not "off"), as `muster install` enables it for the boots after this one
   */
  watch: boolean;
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

/** `npm` and the `node` it runs, wherever the Node.js step put them */
const WITH_NODE_PATH = "PATH=/usr/local/bin:$PATH";

/**
 * A `case` on the CPU that sets the variables of each branch (values: shell words), and stops
 * with a message on a CPU it has no branch for.
 */
function perCpu(branches: Partial<Record<Arch, Record<string, string>>>, what: string): string {
  const lines = ['case "$(uname -m)" in'];
  for (const { uname, arch } of CPUS) {
    const vars = branches[arch];
    if (vars)
      lines.push(
        `  ${uname}) ${Object.entries(vars)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")} ;;`,
      );
  }
  lines.push(
    `  *) echo "muster: this user data has no ${what} for this CPU ($(uname -m))" >&2; exit 1 ;;`,
    "esac",
  );
  return lines.join("\n");
}

/**
 * Download $url into a new private directory as $file and check it against the digest in $sum
 * (hex, for the sha<bits>sum tool) before anything else happens; the directory goes at exit.
 */
function fetchVerified(bits: 256 | 512, download = 'curl -fsSL --retry 5 -o "$dir/$file" "$url"'): string[] {
  return [
    // root's mktemp: a new directory, mode 0700, that no other user can have made first
    "dir=$(mktemp -d)",
    `trap 'rm -rf "$dir"' EXIT`,
    download,
    `(cd "$dir" && echo "$sum  $file" | sha${bits}sum -c -)`,
  ];
}

/**
 * The AWS CLI, for what the instance role reads: Amazon Linux has it; on Ubuntu it is the
 * aws-cli snap (signed by its store, as dnf's repositories are), whose commands are in /snap/bin.
 */
export function awsCliScript(): string[] {
  return [
    'PATH="$PATH:/snap/bin"',
    "if ! command -v aws >/dev/null 2>&1; then",
    "  if command -v snap >/dev/null 2>&1; then snap install aws-cli --classic",
    '  else echo "muster: the AWS CLI (aws) is not in this image; install it or bake it in" >&2; exit 1; fi',
    "fi",
  ];
}

/**
 * Node.js 20 or later: the image's, else the distribution's package when it is new enough (with
 * npm), else the official tarball for this CPU, checked against its pinned SHA-256.
 */
export function nodeInstallScript(node: NodeRelease): string {
  const v = node.version.replace(/^v/, "");
  return [
    "set -eu",
    `if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then exit 0; fi`,
    // the major version of the distribution's candidate, past an epoch ("1:20.1.0-1" -> 20);
    // none ("(none)", no apt) or older: the tarball
    `major=$(apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: *\\([0-9]*:\\)\\{0,1\\}\\([0-9]*\\).*/\\2/p')`,
    'if [ "$major" -ge 20 ] 2>/dev/null; then apt-get install -y nodejs npm; exit 0; fi',
    perCpu(
      Object.fromEntries(CPUS.map(({ arch }) => [arch, { arch, sum: node.sha256[arch] }])),
      "Node.js build",
    ),
    `file="node-v${v}-linux-$arch.tar.xz"`,
    `url="https://nodejs.org/dist/v${v}/$file"`,
    ...fetchVerified(256),
    'tar -xJf "$dir/$file" -C /usr/local --strip-components=1 --no-same-owner',
  ].join("\n");
}

/**
 * muster from its release archive for this CPU (at a URL or in S3), or from the registry, checked
 * before npm sees it.
 */
export function musterInstallScript(source: MusterSource): string {
  if (source.kind === "release")
    return [
      "set -eu",
      perCpu(
        Object.fromEntries(
          Object.entries(source.archives).map(([arch, a]) => [
            arch,
            { url: shellWord(a.url), sum: a.sha256 },
          ]),
        ),
        "muster release archive",
      ),
      'file="muster-fleet.tgz"',
      ...fetchVerified(256),
      `${WITH_NODE_PATH} npm install --global --offline --no-fund --no-audit "$dir/$file"`,
    ].join("\n");
  if (source.kind === "s3")
    return [
      "set -eu",
      ...awsCliScript(),
      perCpu(
        Object.fromEntries(
          Object.entries(source.archives).map(([arch, a]) => [
            arch,
            { bucket: shellWord(a.bucket), key: shellWord(a.key), sum: a.sha256 },
          ]),
        ),
        "muster release archive",
      ),
      'file="muster-fleet.tgz"',
      ...fetchVerified(
        256,
        `aws s3 cp --only-show-errors --region ${shellWord(source.region)} "s3://$bucket/$key" "$dir/$file"`,
      ),
      `${WITH_NODE_PATH} npm install --global --offline --no-fund --no-audit "$dir/$file"`,
    ].join("\n");
  // The registry's tarball, checked against its integrity, is installed where `npm install
  // --global` would put it, with its dependencies exactly as its npm-shrinkwrap.json pins them:
  // `npm ci` checks each one against the integrity there. (`npm install --global` of a tarball
  // resolves them afresh from the registry and checks none of them, shrinkwrap or not.)
  const home = "/usr/local/lib/node_modules/muster-fleet";
  return [
    "set -eu",
    "dir=$(mktemp -d)",
    `trap 'rm -rf "$dir"' EXIT`,
    `file=$(cd "$dir" && ${WITH_NODE_PATH} npm pack --silent ${shellWord(source.spec)})`,
    `(cd "$dir" && echo "${source.sha512}  $file" | sha512sum -c -)`,
    `mkdir "$dir/pkg" && tar -xf "$dir/$file" -C "$dir/pkg" --strip-components=1 --no-same-owner`,
    `if [ ! -f "$dir/pkg/npm-shrinkwrap.json" ]; then echo "muster: ${source.spec} has no npm-shrinkwrap.json, so its dependencies are not pinned; install a release archive instead" >&2; exit 1; fi`,
    `(cd "$dir/pkg" && ${WITH_NODE_PATH} npm ci --omit=dev --ignore-scripts --no-fund --no-audit)`,
    `rm -rf ${home} && mkdir -p /usr/local/lib/node_modules /usr/local/bin && mv "$dir/pkg" ${home}`,
    `chmod 0755 ${home}/bin/muster.js && ln -sf ../lib/node_modules/muster-fleet/bin/muster.js /usr/local/bin/muster`,
  ].join("\n");
}

/** runcmd's first item: a line as it is (a string item is not quoted), so `set -e` holds for every step after it. */
export const RUNCMD_ERREXIT = "set -e";

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
      // cloud-init runs runcmd as one /bin/sh script, without -e: a step that failed (a checksum
      // that did not match) would not stop the next ones, and an older muster, or an older Node.js
      // on the image, would still be installed and started. A first line of its own makes the
      // script stop at the first failure (RUNCMD_ERREXIT).
      RUNCMD_ERREXIT,
      ["sh", "-c", s.platform === "al2023" ? al2023NodeScript() : nodeInstallScript(s.node)],
      ["sh", "-c", musterInstallScript(s.muster)],
      ["sh", "-c", `${WITH_NODE_PATH} muster install --root /`],
      ["systemctl", "daemon-reload"],
      [
        "systemctl",
        "start",
        "--no-block",
        ...(s.health ? ["muster-health.service"] : []),
        "muster-converge.timer",
      ],
      // one transaction: the watch's After=muster-boot.service holds it until the boot has run
      [
        "systemctl",
        "start",
        "--no-block",
        "muster-boot.service",
        ...(s.watch ? ["muster-watch.service"] : []),
      ],
    ],
  };
  return `#cloud-config\n# muster: Node.js, muster (each checked against its SHA before it runs), /etc/muster/boot.${s.bootConfigFormat}, systemd units, then the first boot run.\n${YAML.stringify(doc, { lineWidth: 0 })}`;
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}
