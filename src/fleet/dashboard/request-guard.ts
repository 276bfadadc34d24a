/**
 * Which requests the dashboard serves, PURE. It listens on loopback, where every page the
 * browser has open (and every local user) can reach it, so:
 *   - Host must name the dashboard itself (127.0.0.1:PORT or localhost:PORT): a page on another
 *     name that resolves to 127.0.0.1 (DNS rebinding) is refused;
 *   - the fleet's data (the event stream) and actions need the fleet's key: the dashboard's URL
 *     carries it in its fragment, which the browser never sends to a server and never shows
 *     another site;
 *   - an action is a POST only, with the key in the X-Muster-Key header (a cross-site form or
 *     image cannot set a header, and fetch cannot without a CORS preflight the dashboard never
 *     answers) and an Origin, when the browser sends one, of the dashboard itself.
 * The page and its script are no secret and need only the Host check.
 */
import { timingSafeEqual } from "node:crypto";

export interface GuardInput {
  method: string;
  pathname: string;
  host?: string;
  origin?: string;
  /** the X-Muster-Key header */
  keyHeader?: string;
  /** the `key` query parameter (EventSource cannot set a header) */
  keyParam?: string | null;
}

export type Verdict = { ok: true } | { ok: false; status: number; why: string };

export type RequestKind = "asset" | "stream" | "action";

export function requestKind(pathname: string): RequestKind {
  if (pathname.startsWith("/api/action/")) return "action";
  if (pathname.startsWith("/api/")) return "stream";
  return "asset";
}

function sameKey(given: string | undefined | null, key: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function checkRequest(r: GuardInput, port: number, key: string): Verdict {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (!r.host || !hosts.includes(r.host.toLowerCase()))
    return { ok: false, status: 421, why: `Host ${r.host ?? "(none)"} is not this dashboard` };
  const kind = requestKind(r.pathname);
  if (kind === "asset") {
    if (r.method !== "GET" && r.method !== "HEAD") return { ok: false, status: 405, why: "GET only" };
    return { ok: true };
  }
  if (kind === "stream") {
    if (r.method !== "GET") return { ok: false, status: 405, why: "GET only" };
    if (!sameKey(r.keyParam, key))
      return { ok: false, status: 403, why: "the fleet's key is missing or wrong" };
    return { ok: true };
  }
  if (r.method !== "POST") return { ok: false, status: 405, why: "an action is a POST" };
  if (r.origin !== undefined && !hosts.some((h) => r.origin === `http://${h}`))
    return { ok: false, status: 403, why: `Origin ${r.origin} is not this dashboard` };
  if (!sameKey(r.keyHeader, key))
    return { ok: false, status: 403, why: "the fleet's key is missing or wrong (X-Muster-Key)" };
  return { ok: true };
}
