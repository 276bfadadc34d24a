/**
 * The operator's keys for a local fleet: long-term keys with full rights on its Auto Scaling
 * emulator (not the instances' role), kept in STATE/operator-keys.json (mode 0600, its owner
 * only) so that `muster fleet env` can hand them to the AWS CLI and SDKs, and a restarted fleet
 * accepts the keys an operator's shell already holds.
 */
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import * as path from "node:path";
import { RunError } from "../../core/errors.ts";
import { FLEET_FILES } from "./state-dir.ts";

export interface OperatorKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

export function operatorKeysPath(stateDir: string): string {
  return path.join(stateDir, FLEET_FILES.operatorKeys);
}

/**
 * The keys kept in the state directory, when the file is a regular file of this user's that no
 * one else can read (anything else is not trusted: undefined).
 */
export function readOperatorKeys(stateDir: string): OperatorKeys | undefined {
  let fd: number;
  try {
    // O_NOFOLLOW: a link put in its place is not followed
    fd = openSync(operatorKeysPath(stateDir), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (st.mode & 0o077) !== 0 || (uid !== undefined && st.uid !== uid)) return undefined;
    const k = JSON.parse(readFileSync(fd, "utf8")) as Partial<OperatorKeys>;
    if (typeof k.accessKeyId !== "string" || typeof k.secretAccessKey !== "string") return undefined;
    return { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Keep the keys: a new file made 0600 from the start (O_EXCL, never through a link), then renamed in place. */
export function writeOperatorKeys(stateDir: string, keys: OperatorKeys): void {
  const target = operatorKeysPath(stateDir);
  const tmp = `${target}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  let fd: number;
  try {
    fd = openSync(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
  } catch (err) {
    throw new RunError(`cannot write ${target}: ${(err as Error).message}`, { cause: err });
  }
  try {
    writeSync(fd, `${JSON.stringify(keys, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
}

/** POSIX shell single quotes: the value exactly, whatever it holds. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * `muster fleet env`'s lines, PURE: what the AWS CLI and the SDKs read. AWS_ENDPOINT_URL_AUTO_SCALING
 * is the service-specific endpoint variable of the SDKs and CLI ("Service-specific endpoints" in
 * the AWS SDKs and Tools Reference Guide); MUSTER_AUTOSCALING_URL spells it out for clients too old
 * for it (`--endpoint-url "$MUSTER_AUTOSCALING_URL"`).
 */
export function fleetEnvLines(keys: OperatorKeys, autoscalingUrl: string, region: string): string[] {
  const vars: [string, string][] = [
    ["AWS_ACCESS_KEY_ID", keys.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", keys.secretAccessKey],
    ["AWS_REGION", region],
    ["AWS_DEFAULT_REGION", region],
    ["AWS_ENDPOINT_URL_AUTO_SCALING", autoscalingUrl],
    ["MUSTER_AUTOSCALING_URL", autoscalingUrl],
  ];
  // a session token from the operator's real account must not ride along with these keys
  return [...vars.map(([k, v]) => `export ${k}=${shellQuote(v)}`), "unset AWS_SESSION_TOKEN AWS_PROFILE"];
}
