import { describe, expect, it } from "vitest";
import { MAX_REPLY_CHARS, parseSupervisorReply, unfinishedReplyProblem } from "./supervisor-reply.ts";

const SOCK = "/r/run/muster/supervisor.sock";

describe("parseSupervisorReply", () => {
  it("takes the protocol's answers", () => {
    const ok = { ok: true, pid: 7, services: {} };
    expect(parseSupervisorReply(JSON.stringify(ok), SOCK)).toEqual({ response: ok });
    expect(parseSupervisorReply('{"ok":false,"error":"no"}', SOCK)).toEqual({
      response: { ok: false, error: "no" },
    });
  });

  it("anything else is one line naming the socket and what came, cut short", () => {
    const r = parseSupervisorReply(`HTTP/1.1 400 Bad Request ${"x".repeat(500)}`, SOCK);
    expect("problem" in r && r.problem).toMatch(
      /^the supervisor socket \/r\/run\/muster\/supervisor\.sock answered "HTTP\/1\.1 400 Bad Request x+\.\.\.", which is not muster's supervisor protocol \(not JSON\)/,
    );
    expect("problem" in r && r.problem.length).toBeLessThan(300);
  });

  it("JSON of the wrong shape is not an answer", () => {
    for (const line of [
      '{"ok":true}',
      '{"ok":"yes"}',
      "[]",
      "null",
      '{"ok":true,"pid":1,"services":{"a":{}}}',
    ]) {
      const r = parseSupervisorReply(line, SOCK);
      expect("problem" in r, line).toBe(true);
    }
  });
});

describe("unfinishedReplyProblem", () => {
  it("an answer longer than the bound, or one that closes without its newline, is a problem", () => {
    expect(unfinishedReplyProblem("x".repeat(100), SOCK, false)).toBeUndefined();
    expect(unfinishedReplyProblem("", SOCK, true)).toBeUndefined();
    expect(unfinishedReplyProblem("x".repeat(MAX_REPLY_CHARS + 1), SOCK, false)).toMatch(
      /more than \d+ characters/,
    );
    expect(unfinishedReplyProblem("garbage", SOCK, true)).toMatch(/answered "garbage" and closed/);
  });
});
