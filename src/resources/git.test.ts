import { describe, expect, it } from "vitest";
import { git } from "./git.ts";
import { redactUrl } from "./git-env.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);

describe("git.diff", () => {
  it("clones when there is no working tree", () => {
    expect(
      git.diff(
        { destination: "/srv/app", repository: "https://h/app.git" },
        { target: A, branch: "master" },
      )[0].what,
    ).toBe("clone https://h/app.git at master (aaaaaaa)");
  });
  it("reports old -> new commit", () => {
    const changes = git.diff(
      { destination: "/d", repository: "r" },
      { head: A, origin: "r", target: B, branch: "master" },
    );
    expect(changes.map((c) => c.what)).toEqual(["aaaaaaa -> bbbbbbb (master)"]);
  });
  it("is up to date at the target", () => {
    expect(git.diff({ destination: "/d", repository: "r" }, { head: A, origin: "r", target: A })).toEqual([]);
  });
  it("moves the origin and never prints credentials", () => {
    const changes = git.diff(
      { destination: "/d", repository: "https://u:tok3n@h/new.git" },
      { head: A, origin: "https://h/old.git", target: A },
    );
    expect(changes[0].what).toBe("set origin to https://***@h/new.git (was https://h/old.git)");
  });
});

describe("redactUrl", () => {
  it("hides user info in any URL in a string", () => {
    expect(redactUrl("fatal: could not read from https://x-token:ghp_abc@github.test/o/r.git")).toBe(
      "fatal: could not read from https://***@github.test/o/r.git",
    );
    expect(redactUrl("ssh://git@h/r.git")).toBe("ssh://git@h/r.git");
    expect(redactUrl("ssh://git:pw@h/r.git")).toBe("ssh://***@h/r.git");
    expect(redactUrl("https://ghp_token@h/r.git")).toBe("https://***@h/r.git");
    expect(redactUrl("/local/path.git")).toBe("/local/path.git");
  });
});
