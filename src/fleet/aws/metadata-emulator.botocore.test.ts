/**
 * An independent judge of the metadata emulator: AWS's own Python client code (botocore's
 * IMDSFetcher, which the AWS CLI and boto3 use on every EC2 instance) reads it. What botocore
 * accepts here it accepts from IMDS; what it reads is what the emulator claims IMDS answers.
 * botocore is a Python package of its own, and Debian's awscli package brings it (as awscli.botocore,
 * the AWS CLI v2's copy); without a python3 that imports either the test is skipped, and its name
 * says why.
 */
import { spawn, spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { type MetadataEmulator, startMetadataEmulator } from "./metadata-emulator.ts";
import { targetLifecycleState } from "./target-lifecycle-state.ts";

const IMPORT_IMDS_FETCHER = `
try:
    from botocore.utils import IMDSFetcher
except ImportError:
    from awscli.botocore.utils import IMDSFetcher
`;

/** A python3 that imports botocore: the one on PATH (it may be a virtualenv's), else Debian's. */
function botocorePython(): string | undefined {
  for (const py of ["python3", "/usr/bin/python3"]) {
    const r = spawnSync(py, ["-c", IMPORT_IMDS_FETCHER], { stdio: "ignore", timeout: 20_000 });
    if (r.status === 0) return py;
  }
  return undefined;
}

const PYTHON = botocorePython();

/** Reads each path with botocore's IMDSv2 client; prints {path: [status, body]}. */
const SCRIPT = `${IMPORT_IMDS_FETCHER}
import json, sys
endpoint, paths = sys.argv[1], json.loads(sys.stdin.read())
config = {"ec2_metadata_service_endpoint": endpoint, "ec2_metadata_v1_disabled": True}
fetcher = IMDSFetcher(timeout=2, num_attempts=1, config=config)
token = fetcher._fetch_metadata_token()
out = {"token": token is not None}
for p in paths:
    r = fetcher._get_request(p, retry_func=lambda r: False, token=token)
    out[p] = [r.status_code, r.text]
print(json.dumps(out))
`;

/** `endpoint` ends with "/": the AWS CLI v2's copy of botocore appends paths to it as they are. */
function botocoreRead(endpoint: string, paths: string[]): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON!, ["-c", SCRIPT, endpoint], {
      stdio: ["pipe", "pipe", "pipe"],
      // a proxy in the environment would take loopback requests elsewhere
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_PROXY: "*", no_proxy: "*" },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`botocore exited ${code}: ${err}`));
      resolve(JSON.parse(out));
    });
    child.stdin.end(JSON.stringify(paths));
  });
}

let emu: MetadataEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const judged = PYTHON ? it : it.skip;

describe("botocore reads the metadata emulator", () => {
  judged(
    PYTHON
      ? "identity paths, tags 404 while tags are off, the target lifecycle state (botocore's IMDSFetcher)"
      : "skipped: no python3 here imports botocore (Debian: apt-get install awscli)",
    async () => {
      emu = await startMetadataEmulator({
        instances: [
          {
            instanceId: "i-0feedfacecafe0001",
            address: "127.0.0.1",
            securityGroups: ["web"],
            availabilityZone: "eu-west-1b",
            targetLifecycleState: targetLifecycleState("Pending:Wait"),
          },
        ],
      });
      const mac = "02:00:7f:00:00:01";
      const nic = `latest/meta-data/network/interfaces/macs/${mac}`;
      const paths = [
        "latest/meta-data/instance-id",
        "latest/meta-data/mac",
        `${nic}/subnet-id`,
        `${nic}/security-group-ids`,
        "latest/meta-data/instance-life-cycle",
        "latest/meta-data/services/domain",
        "latest/dynamic/instance-identity/document",
        "latest/dynamic/instance-identity/signature",
        "latest/dynamic/instance-identity/pkcs7",
        "latest/dynamic/instance-identity/rsa2048",
        "latest/meta-data/tags/instance",
        "latest/meta-data/autoscaling/target-lifecycle-state",
        "latest/meta-data/placement/region",
      ];
      const launching = await botocoreRead(`${emu.url}/`, paths);
      expect(launching.token).toBe(true);
      expect(launching["latest/meta-data/instance-id"]).toEqual([200, "i-0feedfacecafe0001"]);
      expect(launching["latest/meta-data/mac"]).toEqual([200, mac]);
      expect(launching[`${nic}/subnet-id`][1]).toMatch(/^subnet-[0-9a-f]{17}$/);
      expect(launching[`${nic}/security-group-ids`][1]).toMatch(/^sg-[0-9a-f]{17}$/);
      expect(launching["latest/meta-data/instance-life-cycle"]).toEqual([200, "on-demand"]);
      expect(launching["latest/meta-data/services/domain"]).toEqual([200, "amazonaws.com"]);
      const [docStatus, doc] = launching["latest/dynamic/instance-identity/document"];
      expect(docStatus).toBe(200);
      expect(JSON.parse(doc)).toMatchObject({ instanceId: "i-0feedfacecafe0001", region: "eu-west-1" });
      for (const kind of ["signature", "pkcs7", "rsa2048"])
        expect(launching[`latest/dynamic/instance-identity/${kind}`][0], kind).toBe(200);
      // tags were not allowed in metadata: 404, as IMDS answers
      expect(launching["latest/meta-data/tags/instance"][0]).toBe(404);
      // during Pending:Wait the target state is already InService
      expect(launching["latest/meta-data/autoscaling/target-lifecycle-state"]).toEqual([200, "InService"]);
      expect(launching["latest/meta-data/placement/region"]).toEqual([200, "eu-west-1"]);

      // a terminate hook holds the instance in Terminating:Wait: code on it reads Terminated
      emu.updateInstance("i-0feedfacecafe0001", {
        targetLifecycleState: targetLifecycleState("Terminating:Wait"),
        tags: { Role: "web" },
      });
      const terminating = await botocoreRead(`${emu.url}/`, [
        "latest/meta-data/autoscaling/target-lifecycle-state",
        "latest/meta-data/tags/instance",
      ]);
      expect(terminating["latest/meta-data/autoscaling/target-lifecycle-state"]).toEqual([200, "Terminated"]);
      expect(terminating["latest/meta-data/tags/instance"]).toEqual([200, "Role"]);
    },
    60_000,
  );
});
