/**
 * The environment every git child runs in: never a prompt, never a hang on a missing key, and
 * the credentials of the repository's URL, which git itself is given without them.
 */
import { credentialEnv } from "./git-credentials.ts";

export interface GitSshOptions {
  /** a private key (a host path) */
  sshKey?: string;
  /** a known_hosts file (a host path) */
  knownHosts?: string;
  /** seconds for ssh to connect */
  connectTimeout?: number;
  /** the repository as configured: credentials in its URL reach git through this environment */
  repository?: string;
}

export function gitEnv(
  base: Record<string, string | undefined>,
  ssh: GitSshOptions = {},
): Record<string, string | undefined> {
  const cmd = [
    "ssh",
    "-o BatchMode=yes",
    `-o ConnectTimeout=${ssh.connectTimeout ?? 10}`,
    "-o StrictHostKeyChecking=yes",
  ];
  if (ssh.knownHosts) cmd.push(`-o UserKnownHostsFile=${shellQuote(ssh.knownHosts)}`);
  if (ssh.sshKey) cmd.push(`-i ${shellQuote(ssh.sshKey)}`, "-o IdentitiesOnly=yes");
  return {
    ...base,
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "/bin/false",
    SSH_ASKPASS: "/bin/false",
    GIT_SSH_COMMAND: cmd.join(" "), // git runs it through the shell: paths are quoted
    GIT_CONFIG_NOSYSTEM: "1",
    LC_ALL: "C",
    ...credentialEnv(base, ssh.repository),
  };
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * https://user:token@host/x -> https://***@host/x, so credentials never reach a log or report.
 * Over http(s) a lone user name is often a token (https://TOKEN@host), so all of it goes; over
 * ssh the user name (git@) is not a secret and stays, unless a password follows it.
 */
export function redactUrl(s: string): string {
  return s.replace(
    /(\b([a-z][a-z0-9+.-]*):\/\/)([^/@\s]+)@/gi,
    (_m, prefix: string, scheme: string, info: string) => {
      if (/^(ssh|git\+ssh|ssh\+git)$/i.test(scheme) && !info.includes(":")) return `${prefix}${info}@`;
      return `${prefix}***@`;
    },
  );
}
