/**
 * Debian's AWS CLI as an independent judge of the fleet's emulators (botocore signs and parses
 * every request itself), run with only the keys given, through its environment: nothing of this
 * machine's own AWS setup (files, profiles, instance metadata) reaches it.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);
export const AWS_CLI = "/usr/bin/aws";
export const haveAwsCli = existsSync(AWS_CLI);

export interface CliKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** `aws SERVICE ARGS --endpoint-url ENDPOINT --output json`; never throws. */
export async function awsCli(
  service: string,
  endpoint: string,
  keys: CliKeys,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = {
    PATH: "/usr/bin:/bin",
    HOME: "/nonexistent",
    AWS_CONFIG_FILE: "/nonexistent/config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
    AWS_MAX_ATTEMPTS: "1",
  };
  if (keys.sessionToken) env.AWS_SESSION_TOKEN = keys.sessionToken;
  try {
    const r = await run(AWS_CLI, [service, ...args, "--endpoint-url", endpoint, "--output", "json"], {
      env,
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
