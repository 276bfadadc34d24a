/**
 * The machine log: JSON lines under the root's /var/log/muster/ (pino, synchronous so a crash
 * loses nothing already logged). Credentials in URLs are redacted before anything is written.
 */
import * as path from "node:path";
import pino from "pino";
import { ensureDir } from "../host/local-files.ts";
import { redactUrl } from "../resources/git-env.ts";

export interface RunLog {
  event(name: string, fields?: Record<string, unknown>): void;
  close(): void;
}

export function openRunLog(root: string, file: string, base: Record<string, unknown>): RunLog {
  const dest = path.join(root, "var/log/muster", file);
  ensureDir(path.dirname(dest));
  const stream = pino.destination({ dest, sync: true, append: true });
  const logger = pino({ base, timestamp: pino.stdTimeFunctions.isoTime, messageKey: "event" }, stream);
  return {
    event(name, fields = {}) {
      logger.info(redactDeep(fields) as object, name);
    },
    close() {
      stream.flushSync?.();
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
