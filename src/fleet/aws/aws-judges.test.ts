/**
 * Independent judges of the emulators' AWS behaviour: Debian's AWS CLI (botocore signs every
 * request itself) against the Auto Scaling emulator, and botocore's own instance-metadata
 * credential fetcher against the metadata emulator. What they accept and refuse is what AWS's
 * own clients accept and refuse, not what muster's code believes.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli, type CliKeys, haveAwsCli } from "../../test-support/aws-cli.ts";
import { defaultInstancePolicy, groupArnPattern } from "./autoscaling-auth.ts";
import { type AutoScalingEmulator, startAutoScalingEmulator } from "./autoscaling-emulator.ts";
import type { IssuedKey } from "./credentials-issuer.ts";
import { type MetadataEmulator, startMetadataEmulator } from "./metadata-emulator.ts";

const run = promisify(execFile);
const haveAws = haveAwsCli;
/** Debian's python3 (the one in PATH may be a version manager's shim without botocore) */
const PYTHON = "/usr/bin/python3";
const BOTOCORE = "botocore.utils";
const haveBotocore =
  existsSync(PYTHON) &&
  [BOTOCORE, `awscli.${BOTOCORE}`].some(
    (m) => spawnSync(PYTHON, ["-c", `import ${m}`], { stdio: "ignore" }).status === 0,
  );
const INSTANCE = "i-0aaaaaaaaaaaaaaa1";

let asg: AutoScalingEmulator;
let meta: MetadataEmulator;
let role: IssuedKey;
let operator: IssuedKey;

beforeAll(async () => {
  asg = await startAutoScalingEmulator({
    hooks: [{ group: "web", hook: "launch" }],
    instances: [{ instanceId: INSTANCE, group: "web", lifecycleState: "Pending" }],
  });
  const policy = defaultInstancePolicy(groupArnPattern("us-east-1", asg.issuer.account, "web"));
  role = asg.issuer.roleKeys("muster-instance", INSTANCE, policy);
  operator = asg.issuer.operatorKeys();
  meta = await startMetadataEmulator({
    instances: [
      {
        instanceId: INSTANCE,
        iam: {
          roleName: "muster-instance",
          credentials: () => asg.issuer.roleKeys("muster-instance", INSTANCE, policy),
        },
      },
    ],
  });
});

afterAll(async () => {
  await asg?.close();
  await meta?.close();
});

/** The AWS CLI with only these keys (test-support/aws-cli.ts). */
const aws = (keys: CliKeys, args: string[]) => awsCli("autoscaling", asg.url, keys, args);

describe.skipIf(!haveAws)(
  haveAws
    ? "Debian's AWS CLI against the Auto Scaling emulator"
    : "AWS CLI judge (skipped: /usr/bin/aws is absent; apt-get install awscli)",
  () => {
    it("forged signature: SignatureDoesNotMatch", async () => {
      const r = await aws({ ...operator, secretAccessKey: "forged-secret-forged-secret-forged-secre" }, [
        "describe-auto-scaling-instances",
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("(SignatureDoesNotMatch)");
    }, 90_000);

    it("unknown key: InvalidClientTokenId", async () => {
      const r = await aws(
        { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
        ["describe-auto-scaling-instances"],
      );
      expect(r.stderr).toContain("(InvalidClientTokenId)");
    }, 90_000);

    it("the instance role's keys outside its policy: AccessDenied naming the assumed role", async () => {
      const r = await aws(role, [
        "set-desired-capacity",
        "--auto-scaling-group-name",
        "web",
        "--desired-capacity",
        "3",
      ]);
      expect(r.stderr).toContain("(AccessDenied)");
      expect(r.stderr).toContain(
        `User: arn:aws:sts::${asg.issuer.account}:assumed-role/muster-instance/${INSTANCE} is not authorized to perform: autoscaling:SetDesiredCapacity on resource: arn:aws:autoscaling:us-east-1:${asg.issuer.account}:autoScalingGroup:`,
      );
      const d = await aws(role, ["describe-auto-scaling-instances"]);
      expect(d.stderr).toContain(
        "because no identity-based policy allows the autoscaling:DescribeAutoScalingInstances action",
      );
    }, 90_000);

    it("the instance role's keys within its policy, and the operator's keys: success", async () => {
      asg.startLifecycleAction({ group: "web", hook: "launch", instanceId: INSTANCE });
      const hb = await aws(role, [
        "record-lifecycle-action-heartbeat",
        "--auto-scaling-group-name",
        "web",
        "--lifecycle-hook-name",
        "launch",
        "--instance-id",
        INSTANCE,
      ]);
      expect(hb.stderr).toBe("");
      expect(hb.code).toBe(0);
      const r = await aws(operator, ["describe-auto-scaling-instances"]);
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout).AutoScalingInstances[0]).toMatchObject({
        InstanceId: INSTANCE,
        LifecycleState: "Pending:Wait",
      });
    }, 90_000);
  },
);

describe.skipIf(!haveBotocore)(
  haveBotocore
    ? "botocore's instance-metadata fetcher against the metadata emulator"
    : "botocore judge (skipped: /usr/bin/python3 has no botocore; apt-get install awscli)",
  () => {
    it("retrieve_iam_role_credentials returns the role's current keys", async () => {
      const script = [
        "import json, sys",
        "try:",
        "    from botocore.utils import InstanceMetadataFetcher",
        "except ImportError:  # Debian's awscli carries its own botocore",
        "    from awscli.botocore.utils import InstanceMetadataFetcher",
        "f = InstanceMetadataFetcher(timeout=2, num_attempts=1, config={'ec2_metadata_service_endpoint': sys.argv[1]})",
        "print(json.dumps(f.retrieve_iam_role_credentials()))",
      ].join("\n");
      const r = await run(PYTHON, ["-c", script, `${meta.url}/`], {
        env: { PATH: "/usr/bin:/bin", HOME: "/nonexistent" },
        timeout: 60_000,
      });
      const creds = JSON.parse(r.stdout) as Record<string, string>;
      expect(creds).toMatchObject({
        role_name: "muster-instance",
        access_key: role.accessKeyId,
        secret_key: role.secretAccessKey,
        token: role.sessionToken,
        expiry_time: new Date(role.expiresAt!).toISOString().replace(/\.\d{3}Z$/, "Z"),
      });
      expect(role.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    }, 90_000);
  },
);
