/**
 * The environment an instance's processes start with (its init, the supervisor, and its boot),
 * PURE (inputs in, environment out): what systemd gives a system service, not the operator's
 * shell. On a host, muster-boot.service starts from systemd's clean environment (systemd.exec(5),
 * "Environment Variables in Spawned Processes"): its default PATH, the locale, and the unit's own
 * Environment= lines. The operator's variables reaching a sandbox would rehearse something a host
 * never runs: NODE_OPTIONS or NODE_EXTRA_CA_CERTS change every Node process (the latter makes
 * each one read a CA bundle at start, about 30 ms here, for an instance that only talks to
 * loopback), and a user's git or npm settings (~/.gitconfig, ~/.npmrc) would steer the boot's
 * fetch and install.
 */
import * as path from "node:path";

/** systemd's PATH for system services (systemd.exec(5)). */
export const SYSTEMD_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Taken from the daemon's environment when set: the locale and time zone systemd passes on. */
export const PASSED_THROUGH = ["LANG", "LC_ALL", "TZ"] as const;

export interface InstanceEnvInput {
  /** the daemon's environment; only PASSED_THROUGH is read from it */
  inherited: Record<string, string | undefined>;
  /**
   * directories of the tools the instance must find as the daemon does (node's, the daemon's
   * git's): put before systemd's PATH when it lacks them, so node from nvm works on a laptop
   */
  toolDirs: string[];
  /** the instance's root on the host */
  root: string;
  /** the instance's boot id (MUSTER_BOOT_ID) */
  bootId: string;
  /** fleet.yaml's instances.environment: the unit's Environment= lines, applied last */
  extra?: Record<string, string>;
}

/**
 * PATH: systemd's default with the tool directories it lacks in front. LANG, LC_ALL, TZ when the
 * daemon has them. HOME: the sandbox's /root. A unit without User= gets no HOME from systemd;
 * git then reads no user config, and node and npm fall back to the passwd entry, root's /root
 * on a host. Here the passwd entry is the operator's own home, outside the root, so HOME names
 * the sandbox's /root instead: whatever a tool keeps per user stays inside the instance. No
 * TMPDIR: a service gets none, and the units do not ask for PrivateTmp=, so /tmp it is. Then
 * what the fleet sets for every instance (MUSTER_BOOT_ID: the boot id a real kernel reports; no
 * colour and no SDK version notice in the logs), then `extra`.
 */
export function instanceEnvironment(i: InstanceEnvInput): Record<string, string> {
  const systemdDirs = SYSTEMD_DEFAULT_PATH.split(":");
  const front: string[] = [];
  for (const d of i.toolDirs)
    if (d && path.isAbsolute(d) && !systemdDirs.includes(d) && !front.includes(d)) front.push(d);
  const env: Record<string, string> = { PATH: [...front, ...systemdDirs].join(":") };
  for (const k of PASSED_THROUGH) {
    const v = i.inherited[k];
    if (v !== undefined && v !== "") env[k] = v;
  }
  env.HOME = path.join(i.root, "root");
  env.MUSTER_BOOT_ID = i.bootId;
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  env.NO_COLOR = "1";
  return { ...env, ...(i.extra ?? {}) };
}

/** Names fleet.yaml's instances.environment may not set: the fleet's own, and cloud credentials. */
export function reservedVariable(name: string): string | undefined {
  if (name.startsWith("MUSTER_"))
    return "MUSTER_ variables are the fleet's to set (MUSTER_BOOT_ID is each instance's boot id)";
  if (name.startsWith("AWS_"))
    return "AWS_ variables never reach an instance: its keys come from its instance profile (instances.iamRole), as on EC2";
  return undefined;
}
