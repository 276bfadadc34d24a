/** Listening sockets from /proc: the pure parsing, and a real server and a real non-server. */
import { spawn } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { listensIn, listensOnTcp, scanRows, socketInode } from "./listening.ts";

const ROWS = [
  "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41234 1 0000000000000000 100 0 0 10 0",
  "   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 100 0 0 10 0",
  "   2: 0100007F:A2C4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 41299 1 0000000000000000 20 4 30 10 -1",
  "   3: 0100007F:1F92 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41300 1 0000000000000000 100 0 0 10 0",
];

describe("parsing /proc", () => {
  it("takes the inodes of LISTEN rows (state 0A), none of inode 0, and stops at another state", () => {
    // the kernel lists listeners first: a LISTEN row after another state is not looked at
    expect(scanRows(ROWS)).toEqual({ listening: ["41234"], pastListening: true });
    expect(scanRows(ROWS.slice(0, 2))).toEqual({ listening: ["41234"], pastListening: false });
    expect(scanRows(["", "  "])).toEqual({ listening: [], pastListening: false });
  });

  it("reads a socket's inode from an fd's link, and nothing from a file's", () => {
    expect(socketInode("socket:[41234]")).toBe("41234");
    expect(socketInode("/dev/null")).toBeUndefined();
    expect(socketInode("pipe:[1234]")).toBeUndefined();
  });
});

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0))
    try {
      // each leads a process group of its own (detached): the server a shell started goes too
      process.kill(-c.pid!, "SIGKILL");
    } catch {}
});

function node(code: string): ReturnType<typeof spawn> {
  const c = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"], detached: true });
  children.push(c);
  return c;
}

function firstLine(c: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve) => c.stdout!.once("data", (d) => resolve(String(d).trim())));
}

describe.runIf(process.platform === "linux")("a real process", () => {
  it("a server is found listening once it listens, on IPv4 and through a child it started", async () => {
    const direct = node(
      `require("net").createServer().listen(0, "127.0.0.1", () => console.log("up")); setInterval(() => {}, 1000);`,
    );
    expect(await firstLine(direct)).toBe("up");
    expect(listensOnTcp(direct.pid!)).toBe(true);

    // a shell that runs the server: the listening socket is its child's
    const wrapped = spawn(
      "sh",
      [
        "-c",
        `"${process.execPath}" -e 'require("net").createServer().listen(0, "127.0.0.1", () => console.log("up")); setInterval(() => {}, 1000)'; :`,
      ],
      {
        stdio: ["ignore", "pipe", "inherit"],
        detached: true,
      },
    );
    children.push(wrapped);
    expect(await firstLine(wrapped)).toBe("up");
    expect(listensOnTcp(wrapped.pid!)).toBe(true);
  });

  it("reads a table page by page: rows split across pages are put together", async () => {
    // twenty more listeners: the table's listening rows take more than the smaller pages
    const many = node(
      `let n = 0; for (let i = 0; i < 20; i++) require("net").createServer().listen(0, "127.0.0.1", () => { if (++n === 20) console.log("up"); }); setInterval(() => {}, 1000);`,
    );
    expect(await firstLine(many)).toBe("up");
    const server = node(
      `require("net").createServer().listen(0, "127.0.0.1", () => console.log("up")); setInterval(() => {}, 1000);`,
    );
    expect(await firstLine(server)).toBe("up");
    const inodes = readdirSync(`/proc/${server.pid}/fd`)
      .map((fd) => {
        try {
          return socketInode(readlinkSync(`/proc/${server.pid}/fd/${fd}`));
        } catch {
          return undefined;
        }
      })
      .filter((i): i is string => i !== undefined);
    const table = `/proc/${server.pid}/net/tcp`;
    for (const pageSize of [7, 64, 150, 4096]) {
      expect(listensIn(table, inodes, pageSize)).toBe(true);
      expect(listensIn(table, ["1"], pageSize)).toBe(false);
    }
  });

  it("a process with a connected socket but no listening one is not listening", async () => {
    const server = node(
      `const s = require("net").createServer((c) => c.on("error", () => {})).listen(0, "127.0.0.1", () => console.log(s.address().port)); setInterval(() => {}, 1000);`,
    );
    const port = await firstLine(server);
    const client = node(
      `const c = require("net").connect(${port}, "127.0.0.1", () => console.log("connected")); c.on("error", () => {}); setInterval(() => {}, 1000);`,
    );
    expect(await firstLine(client)).toBe("connected");
    expect(listensOnTcp(client.pid!)).toBe(false);
    expect(listensOnTcp(2 ** 22 + 12345)).toBe(false); // no such process
  });

  it("remembers sockets found not listening, and still finds one that listens later", async () => {
    const server = node(
      `const s = require("net").createServer((c) => c.on("error", () => {})).listen(0, "127.0.0.1", () => console.log(s.address().port)); setInterval(() => {}, 1000);`,
    );
    const port = await firstLine(server);
    // connects first; listens only when told to (a line on stdin)
    const later = spawn(
      process.execPath,
      [
        "-e",
        `const net = require("net");
         const c = net.connect(${port}, "127.0.0.1", () => console.log("connected")); c.on("error", () => {});
         process.stdin.once("data", () => net.createServer().listen(0, "127.0.0.1", () => console.log("listening")));
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ["pipe", "pipe", "inherit"], detached: true },
    );
    children.push(later);
    expect(await firstLine(later)).toBe("connected");
    const known = new Set<string>();
    expect(listensOnTcp(later.pid!, known)).toBe(false);
    expect(known.size).toBeGreaterThan(0); // its client socket, not looked up again
    const size = known.size;
    expect(listensOnTcp(later.pid!, known)).toBe(false);
    expect(known.size).toBe(size);
    later.stdin!.write("listen\n");
    expect(await firstLine(later)).toBe("listening");
    expect(listensOnTcp(later.pid!, known)).toBe(true);
  });
});
