/**
 * Credentials in a repository URL (`https://user:token@host/x.git`) never reach a command line
 * or a file others can read. A git argv is in /proc/PID/cmdline, readable by every local user,
 * and the origin git stores is in .git/config, mode 0644; the environment of a process is in
 * /proc/PID/environ, readable only by the process's own user. So git is always given the URL
 * without its user info, and the credentials as an Authorization header in configuration that
 * only its environment carries (GIT_CONFIG_COUNT, git 2.31+), scoped to that URL.
 *
 * Only http(s) URLs are split: over ssh the user name (git@) is no secret and a password cannot
 * be used (ssh runs in BatchMode); file:// and paths have no user info to speak of.
 */

export interface SplitRepository {
  /** the URL as git is given it and stores it: without user info */
  url: string;
  /** `Authorization: Basic …` for the credentials the URL had, if any */
  authorization?: string;
}

/** PURE: the URL without user info, and the credentials it had as an HTTP header. */
export function splitCredentials(repository: string): SplitRepository {
  const m = /^(https?:\/\/)([^/?#]*)(.*)$/is.exec(repository);
  if (!m) return { url: repository };
  const [, scheme, authority, rest] = m;
  const at = authority.lastIndexOf("@");
  if (at === -1) return { url: repository };
  const info = authority.slice(0, at);
  const colon = info.indexOf(":");
  const user = decode(colon === -1 ? info : info.slice(0, colon));
  const password = colon === -1 ? "" : decode(info.slice(colon + 1));
  const url = `${scheme}${authority.slice(at + 1)}${rest}`;
  // a lone user name over https is nearly always a token, which servers take as the user with
  // an empty password (as git sends it when the password prompt answers nothing)
  const basic = Buffer.from(`${user}:${password}`, "utf8").toString("base64");
  return { url, authorization: `Authorization: Basic ${basic}` };
}

/** PURE: the URL as git stores it as origin (without user info). */
export function storedUrl(repository: string): string {
  return splitCredentials(repository).url;
}

/**
 * PURE: the environment entries that give git the credentials of `repository`, added to any
 * GIT_CONFIG_COUNT entries `base` already has. `http.<url>.extraHeader` applies only to
 * requests for that URL (scheme, host, port and path prefix), not to other remotes. A redirect
 * of git's first request moves its later requests to wherever it points, and whether a header
 * set by hand follows them there depends on git's and curl's versions: so redirects are not
 * followed at all for a URL with credentials (`http.<url>.followRedirects=false`), and one fails
 * the fetch with git's own line instead. Nothing when the URL has no credentials.
 */
export function credentialEnv(
  base: Record<string, string | undefined>,
  repository: string | undefined,
): Record<string, string> {
  if (repository === undefined) return {};
  const { url, authorization } = splitCredentials(repository);
  if (!authorization) return {};
  const n = Number(base.GIT_CONFIG_COUNT ?? 0);
  const i = Number.isInteger(n) && n > 0 ? n : 0;
  return {
    GIT_CONFIG_COUNT: String(i + 2),
    [`GIT_CONFIG_KEY_${i}`]: `http.${url}.extraHeader`,
    [`GIT_CONFIG_VALUE_${i}`]: authorization,
    [`GIT_CONFIG_KEY_${i + 1}`]: `http.${url}.followRedirects`,
    [`GIT_CONFIG_VALUE_${i + 1}`]: "false",
  };
}

/**
 * PURE: whether a text (a boot config) holds a URL with a secret in it: user info in an http(s)
 * URL, or a password in any URL. A file holding one must be readable by its owner only.
 */
export function holdsCredentials(text: string): boolean {
  // JSON may escape any character ("https:\/\/user\u003atoken\u0040host" is the same URL to a
  // JSON reader): judged as a reader sees it
  const plain = text
    .replaceAll("\\/", "/")
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return /\bhttps?:\/\/[^/?#\s"'@]+@|\b[a-z][a-z0-9+.-]*:\/\/[^/?#\s"'@:]*:[^/?#\s"'@]*@/i.test(plain);
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray % is taken as it is, as git's own URL parsing does
  }
}
