/**
 * User and group names resolved against the root's own /etc/passwd and /etc/group (a sandbox has
 * its own), falling back to the host's when the root has none.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { RunError } from "../core/errors.ts";
import type { IdResolver } from "../core/resource.ts";

function parseDb(text: string, idField: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length > idField && f[0] && !line.startsWith("#")) out.set(f[0], Number(f[idField]));
  }
  return out;
}

function load(root: string, file: string): string {
  return loadFrom(root, file).text;
}

/** The root's account file, else the host's; which one it was, for messages. */
function loadFrom(root: string, file: string): { text: string; from: string } {
  for (const p of [path.join(root, file), file]) {
    try {
      return { text: readFileSync(p, "utf8"), from: p };
    } catch {}
  }
  return { text: "", from: path.join(root, file) };
}

export function idResolver(root: string): IdResolver {
  let users: Map<string, number> | undefined;
  let groups: Map<string, number> | undefined;
  const u = () => {
    users ??= parseDb(load(root, "/etc/passwd"), 2);
    return users;
  };
  const g = () => {
    groups ??= parseDb(load(root, "/etc/group"), 2);
    return groups;
  };
  const byId = (db: Map<string, number>, id: number) => {
    for (const [name, n] of db) if (n === id) return name;
    return String(id);
  };
  return {
    uid(name) {
      if (typeof name === "number") return name;
      const id = u().get(name);
      if (id === undefined)
        throw new RunError(`user "${name}" does not exist in ${loadFrom(root, "/etc/passwd").from}`);
      return id;
    },
    gid(name) {
      if (typeof name === "number") return name;
      const id = g().get(name);
      if (id === undefined)
        throw new RunError(`group "${name}" does not exist in ${loadFrom(root, "/etc/group").from}`);
      return id;
    },
    account(user) {
      for (const line of load(root, "/etc/passwd").split("\n")) {
        const f = line.split(":");
        if (f.length < 7 || line.startsWith("#")) continue;
        if (typeof user === "number" ? Number(f[2]) === user : f[0] === user)
          return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! };
      }
      return undefined;
    },
    userName: (id) => byId(u(), id),
    groupName: (id) => byId(g(), id),
    reset() {
      users = undefined;
      groups = undefined;
    },
  };
}
