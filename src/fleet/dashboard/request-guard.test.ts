import { describe, expect, it } from "vitest";
import { checkRequest } from "./request-guard.ts";

const KEY = "k".repeat(32);
const host = "127.0.0.1:4000";
const action = {
  method: "POST",
  pathname: "/api/action/scale",
  host,
  origin: `http://${host}`,
  keyHeader: KEY,
};

describe("dashboard request guard", () => {
  it("serves the page to its own host only (DNS rebinding: another name for 127.0.0.1 is refused)", () => {
    expect(checkRequest({ method: "GET", pathname: "/", host }, 4000, KEY)).toEqual({ ok: true });
    expect(
      checkRequest({ method: "GET", pathname: "/", host: "evil.example:4000" }, 4000, KEY),
    ).toMatchObject({
      ok: false,
      status: 421,
    });
  });

  it("streams the fleet only with its key", () => {
    const stream = { method: "GET", pathname: "/api/stream", host };
    expect(checkRequest({ ...stream, keyParam: KEY }, 4000, KEY).ok).toBe(true);
    expect(checkRequest({ ...stream, keyParam: "wrong" }, 4000, KEY)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(checkRequest(stream, 4000, KEY)).toMatchObject({ ok: false, status: 403 });
  });

  it("takes an action as a POST from its own origin with the key in the header", () => {
    expect(checkRequest(action, 4000, KEY).ok).toBe(true);
    expect(checkRequest({ ...action, method: "GET" }, 4000, KEY)).toMatchObject({ ok: false, status: 405 });
    expect(checkRequest({ ...action, origin: "http://evil.example" }, 4000, KEY)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(checkRequest({ ...action, keyHeader: undefined }, 4000, KEY)).toMatchObject({
      ok: false,
      status: 403,
    });
    // the key in the query is no key for an action: a cross-site form could put it there
    expect(checkRequest({ ...action, keyHeader: undefined, keyParam: KEY }, 4000, KEY).ok).toBe(false);
  });
});
