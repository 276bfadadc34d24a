import { describe, expect, it } from "vitest";
import { InputError, RunError } from "../core/errors.ts";
import {
  type DiscoverRoleInput,
  discoverRole,
  formatRoleSource,
  parseRoleSource,
  type RoleFacts,
  roleFromUserData,
} from "./role-discovery.ts";

const ROLES = ["web", "db", "worker"];

/** Run discoverRole and return the thrown error (fails the test if nothing is thrown). */
function thrown(input: DiscoverRoleInput): Error {
  try {
    discoverRole(input);
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected discoverRole to throw");
}

const facts = (f: RoleFacts): RoleFacts => ({ instanceId: "i-1", ...f });

describe("parseRoleSource", () => {
  it.each([
    ["security-groups", { kind: "security-groups" }],
    ["autoscaling-group", { kind: "autoscaling-group" }],
    ["user-data", { kind: "user-data" }],
    ["tag:Role", { kind: "tag", key: "Role" }],
    ["tag:muster:role", { kind: "tag", key: "muster:role" }],
    ["static:web", { kind: "static", name: "web" }],
    ["  static:web  ", { kind: "static", name: "web" }],
  ])("parses %s", (text, source) => {
    expect(parseRoleSource(text)).toEqual(source);
    expect(formatRoleSource(parseRoleSource(text))).toBe(text.trim());
  });

  it("refuses a static name that names no file of roles/, before any fetch", () => {
    expect(() => parseRoleSource("static:../../etc/passwd")).toThrow(
      'role source "static:../../etc/passwd": "../../etc/passwd" is not a role name (letters, digits, ".", "_" and "-": the name of a file in roles/)',
    );
    expect(() => parseRoleSource("static:BAD NAME")).toThrow(/"BAD NAME" is not a role name/);
    expect(() => parseRoleSource("static:.hidden")).toThrow(/is not a role name/);
    expect(parseRoleSource("static:web-2.blue_x")).toEqual({ kind: "static", name: "web-2.blue_x" });
  });

  it.each(["", "tag:", "static:", "securitygroups", "tags:Role", "hostname"])(
    "rejects %j with InputError",
    (text) => {
      expect(() => parseRoleSource(text)).toThrow(InputError);
    },
  );

  it("names the accepted forms", () => {
    expect(() => parseRoleSource("hostname")).toThrow(
      'role source "hostname" is not one of security-groups, tag:<Key>, autoscaling-group, static:<name> or user-data',
    );
  });
});

describe("security-groups", () => {
  it("exactly one group with a role file -> that role", () => {
    expect(
      discoverRole({
        source: "security-groups",
        identity: facts({ securityGroups: ["ssh", "web", "monitoring"] }),
        roles: ROLES,
      }),
    ).toBe("web");
  });

  it("a group listed twice still counts once", () => {
    expect(
      discoverRole({
        source: { kind: "security-groups" },
        identity: facts({ securityGroups: ["web", "web"] }),
        roles: ROLES,
      }),
    ).toBe("web");
  });

  it("none -> RunError listing the groups and the roles that exist", () => {
    const err = thrown({
      source: "security-groups",
      identity: facts({ securityGroups: ["ssh", "default"] }),
      roles: ROLES,
    });
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toBe(
      'none of the security groups of instance i-1 ("ssh", "default") has a role file; ' +
        'roles in the config repo: "db", "web", "worker"; add roles/<group>.json or choose another role source',
    );
  });

  it("no groups at all -> RunError saying none", () => {
    const err = thrown({ source: "security-groups", identity: { securityGroups: [] }, roles: [] });
    expect(err.message).toBe(
      "none of the security groups of this instance (none) has a role file; roles in the config repo: none; " +
        "add roles/<group>.json or choose another role source",
    );
  });

  it("several -> RunError naming them", () => {
    const err = thrown({
      source: "security-groups",
      identity: facts({ securityGroups: ["web", "worker", "ssh"] }),
      roles: ROLES,
    });
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toBe(
      'several security groups of instance i-1 have role files ("web", "worker"); ' +
        "list the one to use first in the role preference order, or use a tag: role source",
    );
    expect(err.message).not.toContain("\n");
  });

  it("several, settled by the preference order (first listed that matches wins)", () => {
    const input = {
      source: "security-groups",
      identity: facts({ securityGroups: ["web", "worker"] }),
      roles: ROLES,
    };
    expect(discoverRole({ ...input, preference: ["worker", "web"] })).toBe("worker");
    expect(discoverRole({ ...input, preference: ["db", "web"] })).toBe("web");
  });

  it("several, preference matching none of them -> RunError", () => {
    const err = thrown({
      source: "security-groups",
      identity: facts({ securityGroups: ["web", "worker"] }),
      roles: ROLES,
      preference: ["db"],
    });
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toContain('("web", "worker")');
  });

  it("a preference naming a role without a file is a config error (InputError)", () => {
    const err = thrown({
      source: "security-groups",
      identity: facts({ securityGroups: ["web"] }),
      roles: ROLES,
      preference: ["api"],
    });
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(
      'role preference names roles without a file: "api"; roles in the config repo: "db", "web", "worker"',
    );
  });

  it("undefined groups count as none", () => {
    expect(thrown({ source: "security-groups", identity: {}, roles: ROLES })).toBeInstanceOf(RunError);
  });
});

describe("tag:<Key>", () => {
  it("the tag's value", () => {
    expect(
      discoverRole({
        source: "tag:Role",
        identity: facts({ tags: { Role: "db", Name: "x" } }),
        roles: ROLES,
      }),
    ).toBe("db");
  });

  it("trims the value", () => {
    expect(
      discoverRole({ source: "tag:Role", identity: facts({ tags: { Role: " db " } }), roles: ROLES }),
    ).toBe("db");
  });

  it("tags not enabled in metadata -> RunError saying how to enable them", () => {
    const err = thrown({ source: "tag:Role", identity: facts({}), roles: ROLES });
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toBe(
      "role source tag:Role: instance tags are not available in the metadata of instance i-1 (tags/instance answered 404); " +
        "allow tags in instance metadata (InstanceMetadataTags=enabled in the launch template's metadata options) or choose another role source",
    );
  });

  it("tag missing -> RunError listing the tags there are", () => {
    const err = thrown({ source: "tag:Role", identity: facts({ tags: { Name: "web-1" } }), roles: ROLES });
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toBe('instance i-1 has no tag "Role" (tags: "Name")');
  });

  it("empty value -> RunError", () => {
    expect(
      thrown({ source: "tag:Role", identity: facts({ tags: { Role: "  " } }), roles: ROLES }).message,
    ).toBe('tag "Role" of instance i-1 is empty');
  });

  it("value naming no role file -> RunError listing the roles", () => {
    const err = thrown({
      source: "tag:Role",
      identity: facts({ tags: { Role: "../../etc/passwd" } }),
      roles: ROLES,
    });
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toBe(
      'tag "Role" names role "../../etc/passwd", which has no file in roles/; roles in the config repo: "db", "web", "worker"',
    );
  });

  it("a tag key that is an Object.prototype name is not found by accident", () => {
    expect(thrown({ source: "tag:constructor", identity: facts({ tags: {} }), roles: ROLES })).toBeInstanceOf(
      RunError,
    );
  });
});

describe("autoscaling-group", () => {
  it("the aws:autoscaling:groupName tag", () => {
    const identity = facts({ tags: { "aws:autoscaling:groupName": "worker" } });
    expect(discoverRole({ source: "autoscaling-group", identity, roles: ROLES })).toBe("worker");
  });

  it("not in an Auto Scaling group -> RunError", () => {
    const err = thrown({
      source: "autoscaling-group",
      identity: facts({ tags: { Role: "web" } }),
      roles: ROLES,
    });
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toBe(
      'instance i-1 has no Auto Scaling group tag "aws:autoscaling:groupName" (tags: "Role")',
    );
  });

  it("tags disabled -> RunError", () => {
    const err = thrown({ source: "autoscaling-group", identity: facts({}), roles: ROLES });
    expect(err.message).toMatch(/^role source autoscaling-group: instance tags are not available/);
  });

  it("group without a role file -> RunError", () => {
    const err = thrown({
      source: "autoscaling-group",
      identity: facts({ tags: { "aws:autoscaling:groupName": "web-asg-prod" } }),
      roles: ROLES,
    });
    expect(err.message).toBe(
      'Auto Scaling group tag "aws:autoscaling:groupName" names role "web-asg-prod", which has no file in roles/; ' +
        'roles in the config repo: "db", "web", "worker"',
    );
  });
});

describe("static:<name>", () => {
  it("the name, whatever the facts", () => {
    expect(discoverRole({ source: "static:worker", identity: {}, roles: ROLES })).toBe("worker");
  });

  it("a name without a role file is a config error (InputError)", () => {
    const err = thrown({ source: "static:api", identity: {}, roles: ROLES });
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(
      'role source static:api: no roles/api file; roles in the config repo: "db", "web", "worker"',
    );
  });
});

describe("user-data", () => {
  it.each([
    ["a role= line in a shell script", "#!/bin/bash\nset -e\nrole=web\necho hi\n", "web"],
    ["quoted, exported, with a comment", 'export role="db"  # the database\n', "db"],
    ["single quotes and spaces around =", "role = 'worker'\n", "worker"],
    ["JSON", '{ "role": "db", "env": "prod" }', "db"],
    ["YAML", "#cloud-config\nrole: worker\npackages: [nginx]\n", "worker"],
    ["CRLF lines", "x=1\r\nrole=web\r\n", "web"],
    ["the same role twice", "role=web\nrole=web\n", "web"],
  ])("reads %s", (_label, userData, role) => {
    expect(roleFromUserData(userData)).toBe(role);
    expect(discoverRole({ source: "user-data", identity: facts({ userData }), roles: ROLES })).toBe(role);
  });

  it.each([
    ["empty", ""],
    ["a script without role", "#!/bin/sh\necho role is web\nrole_name=x\n"],
    ["JSON without role", '{ "env": "prod" }'],
    ["a YAML list", "- role: web\n"],
    ["binary-ish garbage", "\u0000\u0001:\u0002{"],
  ])("finds no role in %s", (_label, userData) => {
    expect(roleFromUserData(userData)).toBeUndefined();
  });

  it("two different role= lines -> RunError", () => {
    expect(() => roleFromUserData("role=web\nrole=db\n")).toThrow(RunError);
    expect(() => roleFromUserData("role=web\nrole=db\n")).toThrow(
      'user data names several roles ("web", "db"); keep one role= line',
    );
  });

  it("an empty role= or a non-string JSON role -> RunError", () => {
    expect(() => roleFromUserData("role=\n")).toThrow(RunError);
    expect(() => roleFromUserData('{"role": 3}')).toThrow(
      'user data (JSON) has a "role" that is not a non-empty string',
    );
    expect(() => roleFromUserData("role: [a]\n")).toThrow(
      'user data (YAML) has a "role" that is not a non-empty string',
    );
  });

  it("no user data -> RunError", () => {
    const err = thrown({ source: "user-data", identity: facts({}), roles: ROLES });
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toBe("role source user-data: instance i-1 has no user data; add a line role=<name>");
  });

  it("user data naming no role -> RunError", () => {
    const err = thrown({ source: "user-data", identity: facts({ userData: "#!/bin/sh\n" }), roles: ROLES });
    expect(err.message).toBe(
      "role source user-data: the user data of instance i-1 names no role; add a line role=<name>",
    );
  });

  it("user data naming a role without a file -> RunError", () => {
    const err = thrown({ source: "user-data", identity: facts({ userData: "role=api\n" }), roles: ROLES });
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toContain('user data names role "api", which has no file in roles/');
  });
});

describe("bad source", () => {
  it("an unknown source string is an InputError", () => {
    expect(thrown({ source: "dns", identity: {}, roles: ROLES })).toBeInstanceOf(InputError);
  });
});
