/**
 * The fleet's user data: muster's own `install --print-user-data` text (the one call to it in
 * the construct), with the deploy key fetched from the secrets store at launch and the git
 * server's host keys written, both before muster's boot starts. PURE: settings in, text out.
 *
 * The key is never in the user data (every process on the server can read that through the
 * metadata service): the instance role reads it, into a file only root can read.
 */
import YAML from "yaml";
import {
  awsCliScript,
  cloudInitUserData,
  type MusterSource,
  type NodeRelease,
  RUNCMD_ERREXIT,
  type UserDataPlatform,
} from "../boot/user-data.ts";
import { DEPLOY_KEY_PATH, KNOWN_HOSTS_PATH } from "./fleet-settings.ts";

/** Where the deploy key is kept: a Secrets Manager secret or an SSM parameter (a SecureString). */
export type DeployKeySource =
  | {
      kind: "secret" /** its full ARN, or its name (an ARN without its suffix may not find it) */;
      secretId: string;
    }
  | { kind: "parameter"; parameterName: string };

export interface FleetUserDataSettings {
  bootConfig: Record<string, unknown>;
  /** where muster comes from, with its digest: the user data installs nothing it cannot verify */
  muster: MusterSource;
  node: NodeRelease;
  platform: UserDataPlatform;
  health: boolean;
  /** the region the secrets store is called in (a CDK token is fine) */
  region: string;
  deployKey?: DeployKeySource;
  knownHosts?: string;
}

/** The shell command that writes the deploy key, mode 0600, atomically, with the AWS CLI. */
export function deployKeyFetchScript(source: DeployKeySource, region: string): string {
  const read =
    source.kind === "secret"
      ? `aws secretsmanager get-secret-value --region ${region} --secret-id ${source.secretId} --query SecretString --output text`
      : `aws ssm get-parameter --region ${region} --name ${source.parameterName} --with-decryption --query Parameter.Value --output text`;
  return [
    "set -eu",
    ...awsCliScript(),
    // the key is born 0600 (umask), under a name of root's own directory, then renamed into place
    "umask 077",
    "mkdir -p /etc/muster",
    `${read} > ${DEPLOY_KEY_PATH}.new`,
    `mv -f ${DEPLOY_KEY_PATH}.new ${DEPLOY_KEY_PATH}`,
  ].join("\n");
}

export function fleetUserData(s: FleetUserDataSettings): string {
  const text = cloudInitUserData({
    bootConfig: JSON.stringify(s.bootConfig, null, 2),
    bootConfigFormat: "json",
    muster: s.muster,
    node: s.node,
    health: s.health,
    watch: (s.bootConfig.endpoints as { metadata?: unknown } | undefined)?.metadata !== "off",
    platform: s.platform,
  });
  if (!s.deployKey && s.knownHosts === undefined) return text;
  const doc = YAML.parseDocument(text);
  if (s.knownHosts !== undefined) {
    const content = s.knownHosts.endsWith("\n") ? s.knownHosts : `${s.knownHosts}\n`;
    (doc.get("write_files") as YAML.YAMLSeq).add(
      doc.createNode({ path: KNOWN_HOSTS_PATH, permissions: "0644", owner: "root:root", content }),
    );
  }
  if (s.deployKey) {
    // first of runcmd's steps: the boot, started at its end, must find the key
    const runcmd = doc.get("runcmd") as YAML.YAMLSeq;
    // after runcmd's `set -e` line (RUNCMD_ERREXIT), so a failed fetch stops what follows
    const after = runcmd.items.findIndex((i) => YAML.isScalar(i) && i.value === RUNCMD_ERREXIT) + 1;
    runcmd.items.splice(after, 0, doc.createNode(["sh", "-c", deployKeyFetchScript(s.deployKey, s.region)]));
  }
  return doc.toString({ lineWidth: 0 });
}
