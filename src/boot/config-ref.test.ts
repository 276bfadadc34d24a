import { describe, expect, it } from "vitest";
import { configRefAgreement, configRefText } from "./config-ref.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);

describe("configRefAgreement", () => {
  it("a pinned commit: equal or not", () => {
    expect(configRefAgreement({ ref: A, follow: false }, A)).toEqual({
      ref: A,
      follow: false,
      state: "matches",
    });
    expect(configRefAgreement({ ref: A, follow: false }, B).state).toBe("differs");
    expect(configRefAgreement({ ref: A, follow: false }, undefined).state).toBe("differs");
    // a commit cannot be followed: follow changes nothing about the comparison
    expect(configRefAgreement({ ref: A, follow: true }, B).state).toBe("differs");
  });

  it("a branch: follows it, or keeps the commit the boot opened on", () => {
    expect(configRefAgreement({ ref: "main", follow: true }, A).state).toBe("follows");
    expect(configRefAgreement({ ref: "main", follow: false }, A).state).toBe("opened-on");
    // a short hex name is a branch or tag name to git here, not a commit to compare
    expect(configRefAgreement({ ref: A.slice(0, 7), follow: false }, A).state).toBe("opened-on");
  });

  it("says each in one line", () => {
    expect(configRefText(configRefAgreement({ ref: "main", follow: true }, A))).toBe("follows main");
    expect(configRefText(configRefAgreement({ ref: A, follow: false }, B))).toContain("DIFFERS");
    expect(configRefText(configRefAgreement({ ref: A, follow: false }, A))).toBe(
      `pinned to ${A}: the server is on it`,
    );
  });
});
