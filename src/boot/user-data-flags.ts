/**
 * The install flags that say where the user data's muster and Node.js come from, checked and
 * turned into the user data's settings. PURE: every problem is returned, nothing is fetched.
 *
 * There is no default for muster: a user data that installed whatever a registry serves under a
 * name would run it as root unchecked. It takes release archives with their SHA-256
 * (`--release-url URL --release-sha256 HEX`, once per CPU) or a registry version with its
 * integrity (`--package muster-fleet@X --integrity sha512-...`).
 */
import { redactUrl } from "../resources/git-env.ts";
import { type Arch, CPUS, type MusterSource, type NodeRelease, PINNED_NODE } from "./user-data.ts";

export interface UserDataFlags {
  releaseUrl?: string[];
  releaseSha256?: string[];
  package?: string;
  integrity?: string;
  nodeVersion?: string;
  nodeSha256X64?: string;
  nodeSha256Arm64?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HOW =
  "give --release-url URL --release-sha256 HEX (from `npm run release`: the archive and its .sha256), or --package muster-fleet@VERSION --integrity sha512-...";

export function userDataSources(
  f: UserDataFlags,
): { muster: MusterSource; node: NodeRelease } | { problems: string[] } {
  const problems: string[] = [];
  const muster = musterSource(f, problems);
  const node = nodeRelease(f, problems);
  return problems.length > 0 || !muster ? { problems } : { muster, node };
}

function musterSource(f: UserDataFlags, problems: string[]): MusterSource | undefined {
  const urls = f.releaseUrl ?? [];
  const sums = f.releaseSha256 ?? [];
  const release = urls.length > 0 || sums.length > 0;
  const pkg = f.package !== undefined || f.integrity !== undefined;
  if (release && pkg) {
    problems.push(`install --print-user-data: --release-url and --package both given; ${HOW}, not both`);
    return undefined;
  }
  if (!release && !pkg) {
    problems.push(`install --print-user-data: the user data installs only a muster it can verify; ${HOW}`);
    return undefined;
  }
  if (pkg) return packageSource(f, problems);
  if (urls.length !== sums.length) {
    problems.push(
      `install --release-url/--release-sha256: ${urls.length} URL(s) and ${sums.length} SHA-256(s); give one --release-sha256 after each --release-url`,
    );
    return undefined;
  }
  const archives: Partial<Record<Arch, { url: string; sha256: string }>> = {};
  for (const [i, url] of urls.entries()) {
    const sum = sums[i]!.toLowerCase();
    // the archive's own name says its CPU: muster-fleet-<version>-linux-<arch>.tgz
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    const arch = parsed && (/-linux-(x64|arm64)\.tgz$/.exec(parsed.pathname)?.[1] as Arch | undefined);
    if (!/^https?:\/\//.test(url) || !parsed)
      problems.push(`install --release-url ${redactUrl(url)}: give an http(s) URL the server can download`);
    else if (parsed.username || parsed.password)
      // the user data is readable through the metadata service, and the download's command line
      // by every local user (ps): no secret goes there
      problems.push(
        `install --release-url ${redactUrl(url)}: holds credentials, which would be in the user data and on the server's command lines; the archive is checked by its SHA-256, so it can be fetched from a URL that needs none`,
      );
    else if (!arch)
      problems.push(
        `install --release-url ${redactUrl(url)}: not a release archive name (muster-fleet-<version>-linux-x64.tgz or -linux-arm64.tgz)`,
      );
    else if (archives[arch])
      problems.push(`install --release-url ${redactUrl(url)}: a second archive for linux-${arch}`);
    if (!HEX64.test(sum))
      problems.push(
        `install --release-sha256 ${sums[i]}: not a SHA-256 (64 hex digits, the first word of the archive's .sha256)`,
      );
    if (arch && !archives[arch]) archives[arch] = { url, sha256: sum };
  }
  return { kind: "release", archives };
}

function packageSource(f: UserDataFlags, problems: string[]): MusterSource | undefined {
  const spec = f.package ?? "";
  // an exact version: an integrity pins one file, a range would name another tomorrow
  const name = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*(?=@)/.exec(spec)?.[0];
  // the user data installs whatever it names as muster, and runs it as root: another package's
  // name (the bare "muster" on the registry is another project's) is never what is meant
  if (name !== undefined && name !== "muster-fleet")
    problems.push(
      `install --package ${spec}: ${name} is not muster's package (muster-fleet); give muster-fleet@X.Y.Z`,
    );
  else if (!/^muster-fleet@\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(spec))
    problems.push(
      `install --package ${spec || "(none)"}: give a name and an exact version, e.g. muster-fleet@1.2.3`,
    );
  const m = /^sha512-([A-Za-z0-9+/]+={0,2})$/.exec(f.integrity ?? "");
  const digest = m ? Buffer.from(m[1]!, "base64") : undefined;
  if (digest?.length !== 64) {
    problems.push(
      `install --integrity ${f.integrity ?? "(none)"}: give the package's sha512 integrity (sha512-..., as \`npm view ${spec || "muster-fleet@VERSION"} dist.integrity\` prints it)`,
    );
    return undefined;
  }
  return { kind: "package", spec, sha512: digest.toString("hex") };
}

function nodeRelease(f: UserDataFlags, problems: string[]): NodeRelease {
  const given = [f.nodeVersion, f.nodeSha256X64, f.nodeSha256Arm64];
  if (given.every((g) => g === undefined)) return PINNED_NODE;
  const version = (f.nodeVersion ?? "").replace(/^v/, "");
  const sha256 = {
    x64: (f.nodeSha256X64 ?? "").toLowerCase(),
    arm64: (f.nodeSha256Arm64 ?? "").toLowerCase(),
  };
  if (!/^\d+\.\d+\.\d+$/.test(version) || Number(version.split(".")[0]) < 20)
    problems.push(
      `install --node-version ${f.nodeVersion ?? "(none)"}: give a Node.js version of 20 or later, with --node-sha256-x64 and --node-sha256-arm64`,
    );
  const bad = CPUS.map((c) => c.arch).filter((arch) => !HEX64.test(sha256[arch]));
  // a version alone: one line for the two digests it needs, not one line each
  if (bad.length === CPUS.length && bad.every((arch) => sha256[arch] === ""))
    problems.push(
      `install --node-version ${f.nodeVersion ?? "(none)"}: give ${bad.map((a) => `--node-sha256-${a}`).join(" and ")} too, the SHA-256 of node-v${version}-linux-{${bad.join(",")}}.tar.xz from that release's SHASUMS256.txt`,
    );
  else
    for (const arch of bad)
      problems.push(
        `install --node-sha256-${arch} ${sha256[arch] || "(none)"}: give the SHA-256 of node-v${version}-linux-${arch}.tar.xz from that release's SHASUMS256.txt`,
      );
  return { version, sha256 };
}
