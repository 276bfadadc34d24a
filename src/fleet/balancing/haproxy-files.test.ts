/**
 * HAProxy's files in the fleet's state directory are never written through a link put in their
 * place: the access log is opened without following one (the start fails with one line), and
 * haproxy.cfg is written beside and renamed, replacing a link instead of writing its target.
 *
 * Skipped only when haproxy is not installed and this is not CI (with CI=true it fails).
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RunError } from "../../core/errors.ts";
import { cleanupTmp, tmpDir } from "../../test-support/tmp.ts";
import { HaproxyLoadBalancer } from "./haproxy.ts";
import { FAST_DEFAULTS } from "./target-health.ts";

const HAPROXY = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].find((p) => existsSync(p));
const run = it.skipIf(HAPROXY === undefined && process.env.CI !== "true");
afterAll(cleanupTmp);

const VICTIM = "root:x:0:0\n";

function setup() {
  const dir = path.join(tmpDir("muster-haproxy-files-"), "lb");
  const victim = path.join(tmpDir("muster-victim-"), "shadow");
  writeFileSync(victim, VICTIM, { mode: 0o600 });
  const opts = {
    dir,
    host: "127.0.0.1",
    port: 0,
    backend: "web",
    settings: FAST_DEFAULTS,
    binary: HAPROXY,
    accessLogPath: path.join(dir, "access.jsonl"),
    slots: 2,
  };
  return { dir, victim, opts };
}

describe("HAProxy's files and links put in their place", () => {
  run(
    "a link in place of the access log: the start is refused with one line, nothing written through it",
    async () => {
      const { victim, opts } = setup();
      mkdirSync(opts.dir, { recursive: true });
      symlinkSync(victim, opts.accessLogPath);
      const err = await HaproxyLoadBalancer.start(opts).then(
        () => expect.fail("expected the start to be refused"),
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(RunError);
      expect(err.message).toBe(
        `load balancer: its access log ${opts.accessLogPath} cannot be opened (a symbolic link is in its place); remove what is there`,
      );
      expect(readFileSync(victim, "utf8")).toBe(VICTIM);
    },
  );

  run("a link in place of haproxy.cfg: replaced by the file, its target left as it was", async () => {
    const { dir, victim, opts } = setup();
    mkdirSync(dir, { recursive: true });
    const cfg = path.join(dir, "haproxy.cfg");
    symlinkSync(victim, cfg);
    const lb = await HaproxyLoadBalancer.start(opts);
    try {
      expect(readFileSync(victim, "utf8")).toBe(VICTIM);
      expect(lstatSync(cfg).isFile()).toBe(true);
      expect(readFileSync(cfg, "utf8")).toMatch(/backend web/);
    } finally {
      await lb.close();
    }
  });
});
