/**
 * muster's release archives as CDK assets: `cdk deploy` uploads each to the bootstrap bucket, the
 * instance role may read exactly those objects, and the user data fetches them with the AWS CLI
 * and checks them against the SHA-256 computed here, at synth, from the file itself (and checked
 * against the .sha256 `npm run release` wrote beside it). No download site to host or trust.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { Aws, aws_iam as iam } from "aws-cdk-lib";
import { Asset } from "aws-cdk-lib/aws-s3-assets";
import type { Construct } from "constructs";
import type { Arch, MusterSource, S3Archive } from "../boot/user-data.ts";
import { checkReleaseDigest, FleetPropsError } from "./fleet-settings.ts";

/** Release archives on this machine, per CPU: `release/muster-fleet-<v>-linux-<arch>.tgz`. */
export interface MusterReleaseFiles {
  kind: "asset";
  archives: Partial<Record<Arch, string>>;
}

export interface ReleaseAssets {
  /** the user data's source: the objects, with their digests */
  source: MusterSource;
  /** s3:GetObject on those objects only */
  statement: iam.PolicyStatement;
  assets: Asset[];
}

export function releaseAssets(scope: Construct, files: MusterReleaseFiles): ReleaseAssets {
  const archives: Partial<Record<Arch, S3Archive>> = {};
  const assets: Asset[] = [];
  for (const [arch, file] of Object.entries(files.archives) as [Arch, string][]) {
    if (!existsSync(file))
      throw new FleetPropsError(
        `muster.archives.${arch} ${file}: no such file; run npm run release in muster's checkout, or give the path of its archive`,
      );
    const sha256 = checkReleaseDigest(
      file,
      createHash("sha256").update(readFileSync(file)).digest("hex"),
      existsSync(`${file}.sha256`) ? readFileSync(`${file}.sha256`, "utf8") : undefined,
    );
    const asset = new Asset(scope, `MusterRelease-${arch}`, { path: file });
    assets.push(asset);
    archives[arch] = { bucket: asset.s3BucketName, key: asset.s3ObjectKey, sha256 };
  }
  if (assets.length === 0)
    throw new FleetPropsError("muster.archives: give the release archive of at least one CPU (x64, arm64)");
  return {
    // the bootstrap bucket is in the stack's region
    source: { kind: "s3", region: Aws.REGION, archives },
    statement: new iam.PolicyStatement({
      sid: "MusterRelease",
      actions: ["s3:GetObject"],
      resources: assets.map((a) => a.bucket.arnForObjects(a.s3ObjectKey)),
    }),
    assets,
  };
}
