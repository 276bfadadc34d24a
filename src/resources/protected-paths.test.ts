import { describe, expect, it } from "vitest";
import { protectedPathProblem } from "./protected-paths.ts";

describe("protectedPathProblem", () => {
  const root = "is the root itself";
  const host = "is a directory of the host itself";
  const dots = 'contains ".."';
  // kind, props, what the problem says (undefined: allowed)
  const table: [string, Record<string, unknown>, string | undefined][] = [
    ["directory", { path: "/", action: "delete", recursive: true }, root],
    ["directory", { path: "//", action: "delete", recursive: true }, root],
    ["directory", { path: "/.", action: "delete" }, root],
    ["directory", { path: "/./", action: "delete" }, root],
    ["directory", { path: "/x/..", action: "delete", recursive: true }, root],
    ["directory", { path: "/etc", action: "delete", recursive: true }, host],
    ["directory", { path: "/etc/", action: "delete" }, host],
    ["directory", { path: "//usr/./lib", action: "delete" }, host],
    ["directory", { path: "/var/lib", action: "delete" }, host],
    ["directory", { path: "/srv/app/../..", action: "delete" }, root],
    ["directory", { path: "/srv/app/../old", action: "delete" }, dots],
    ["directory", { path: "/srv/app", action: "delete", recursive: true }, undefined],
    ["directory", { path: "/var/lib/app", action: "delete" }, undefined],
    ["directory", { path: "/data", action: "delete" }, undefined],
    // creating a directory that exists changes nothing of it
    ["directory", { path: "/", action: "create" }, undefined],
    ["directory", { path: "/etc" }, undefined],
    ["file", { path: "/etc", action: "delete" }, host],
    ["file", { path: "/.", action: "delete" }, root],
    ["file", { path: "/etc/motd", action: "delete" }, undefined],
    ["file", { path: "/etc/motd" }, undefined],
    ["template", { path: "/usr", action: "delete" }, host],
    ["template", { path: "/etc/app.conf", source: "a.eta" }, undefined],
    ["link", { path: "/", to: "/x", action: "delete" }, root],
    ["link", { path: "/bin", to: "usr/bin", action: "delete" }, host],
    // a link made there replaces the host's own (on a merged-/usr host /bin is a link)
    ["link", { path: "/bin", to: "/tmp/evil" }, host],
    ["link", { path: "/usr/local/bin/app", to: "/srv/app/bin/app" }, undefined],
    ["git", { destination: "/", repository: "https://example.org/a.git" }, root],
    ["git", { destination: "/etc", repository: "https://example.org/a.git" }, host],
    ["git", { destination: "/etc/.", repository: "https://example.org/a.git", action: "checkout" }, host],
    ["git", { destination: "/srv/app", repository: "https://example.org/a.git" }, undefined],
    // kinds that name no path are never refused here
    ["execute", { command: "rm -rf /" }, undefined],
  ];
  it.each(table)("%s %j", (kind, props, expected) => {
    const problem = protectedPathProblem(kind, props);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(expected);
  });

  it("names the field, the path as written and as it resolves, and what to do", () => {
    expect(protectedPathProblem("directory", { path: "/x/..", action: "delete" })).toBe(
      "path: /x/.. (/) is the root itself; muster will not delete it: name what inside it to delete",
    );
    expect(protectedPathProblem("git", { destination: "/etc" })).toBe(
      "destination: /etc is a directory of the host itself; muster will not check a repository out into it: give a directory of its own (such as /srv/app)",
    );
  });
});
