/**
 * The machine log: JSON lines under the root's /var/log/muster/ (pino). Credentials in URLs are
 * redacted before anything is written. What one busy stretch of the process logs goes out in one write (see coalesced-file.ts).
 */
import * as path from "node:path";
import pino from "pino";
import { CoalescedFile } from "../host/coalesced-file.ts";
import { openDirUnder } from "../host/pinned-dir.ts";
import { redactUrl } from "../resources/git-env.ts";

export interface RunLog {
  event(name: string, fields?: Record<string, unknown>): void;
  /** put the lines logged so far in the file now (they are written once a busy stretch ends) */
  flush(): void;
  close(): void;
}

/** the keys pino writes on every line itself, besides the base fields */
const LINE_KEYS = ["level", "time", "event"];

/**
 * PURE: an event's fields without the keys every line has already (pino writes a key twice
 * when a field repeats it, and a JSON reader then sees only the last): one equal to the line's
 * own is left out, one that differs is kept under `fields`.
 */
export function ownFields(
  fields: Record<string, unknown>,
  base: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const clashing: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (!LINE_KEYS.includes(k) && !Object.hasOwn(base, k)) out[k] = v;
    else if (!(Object.hasOwn(base, k) && base[k] === v)) clashing[k] = v;
  }
  if (Object.keys(clashing).length > 0) out.fields = clashing;
  return out;
}

export function openRunLog(root: string, file: string, base: Record<string, unknown>): RunLog {
  // never through a link on the way: /var/log may be writable by a group (syslog)
  const dir = openDirUnder(root, "var/log/muster", { create: true, mode: 0o755, ownOnly: true });
  let stream: CoalescedFile;
  try {
    stream = new CoalescedFile(dir.path(file), path.join(dir.shown, file));
  } finally {
    dir.close();
  }
  const logger = pino({ base, timestamp: pino.stdTimeFunctions.isoTime, messageKey: "event" }, stream);
  return {
    event(name, fields = {}) {
      logger.info(redactDeep(ownFields(fields, base)) as object, name);
    },
    flush() {
      // pino hands each line to the stream as it is logged: the stream holds them
      stream.flush();
    },
    close() {
      stream.close();
    },
  };
}

export function redactDeep(v: unknown): unknown {
  // credentials in a URL always come with an "@": most strings need no regex at all
  if (typeof v === "string") return v.includes("@") ? redactUrl(v) : v;
  if (Array.isArray(v)) return v.map(redactDeep);
  if (v && typeof v === "object" && !(v instanceof Buffer))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactDeep(x)]));
  return v;
}
