import { describe, expect, it } from "vitest";
import {
  builtinArgs,
  DEFAULT_RESTART_LIMITS,
  definitionText,
  fallbackSocketName,
  MAX_SOCKET_PATH,
  parseEnvFile,
  restartDecision,
  serviceEnvironment,
  socketInRoot,
  splitCommand,
  tellingLogLine,
} from "./supervisor-policy.ts";

describe("splitCommand", () => {
  it("splits on blanks; quotes group; backslash escapes", () => {
    expect(splitCommand("node  server.js --port 80")).toEqual(["node", "server.js", "--port", "80"]);
    expect(splitCommand(`sh -c "echo 'a b'" x`)).toEqual(["sh", "-c", "echo 'a b'", "x"]);
    expect(splitCommand(`a 'b "c"' d\\ e ""`)).toEqual(["a", 'b "c"', "d e", ""]);
  });
  it("an unterminated quote is an error, not a guess", () => {
    expect(() => splitCommand(`echo "oops`)).toThrow('unterminated " quote');
  });
});

describe("parseEnvFile", () => {
  it("reads KEY=VALUE lines, skipping comments and blanks, unquoting values", () => {
    expect(
      parseEnvFile(
        "# the app\nPORT=8080\n\nHOST = \"127.0.0.1\"\nexport MODE=prod\nNAME='a b'\nnot a line\n",
      ),
    ).toEqual({ PORT: "8080", HOST: "127.0.0.1", MODE: "prod", NAME: "a b" });
  });
});

describe("serviceEnvironment", () => {
  it("is clean: PATH and locale from the supervisor, then the file, then the unit's own", () => {
    const env = serviceEnvironment(
      { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", AWS_SECRET_ACCESS_KEY: "nope" },
      { PORT: "1", HOST: "h" },
      { command: ["x"], restart: "no", environment: { PORT: "2" } },
      { MUSTER_ROOT: "/r" },
    );
    expect(env).toEqual({ PATH: "/usr/bin:/bin", LANG: "C.UTF-8", MUSTER_ROOT: "/r", PORT: "2", HOST: "h" });
  });
});

describe("restartDecision", () => {
  const now = 100_000;
  it("follows the policy", () => {
    expect(restartDecision("no", { code: 1, signal: null }, [], now)).toEqual({
      restart: false,
      reason: "exited with code 1",
    });
    expect(restartDecision("on-failure", { code: 0, signal: null }, [], now).restart).toBe(false);
    expect(restartDecision("on-failure", { code: null, signal: "SIGKILL" }, [], now)).toEqual({
      restart: true,
      delayMs: 100,
    });
    expect(restartDecision("always", { code: 0, signal: null }, [], now).restart).toBe(true);
  });
  it("backs off exponentially, capped", () => {
    const delays = [0, 1, 2, 3, 4].map((n) => {
      const d = restartDecision("always", { code: 1, signal: null }, Array(n).fill(now - 1000), now, {
        ...DEFAULT_RESTART_LIMITS,
        burst: 10,
        maxDelayMs: 1000,
      });
      return d.restart ? d.delayMs : -1;
    });
    expect(delays).toEqual([100, 200, 400, 800, 1000]);
  });
  it("gives up after too many restarts in the window; old restarts do not count", () => {
    const recent = [now - 5000, now - 4000, now - 3000, now - 2000, now - 1000];
    expect(restartDecision("on-failure", { code: 3, signal: null }, recent, now)).toEqual({
      restart: false,
      reason: "exited with code 3; restarted 5 times within 30 s, giving up",
    });
    const old = recent.map((t) => t - 60_000);
    expect(restartDecision("on-failure", { code: 3, signal: null }, old, now).restart).toBe(true);
  });
});

describe("socketInRoot and fallbackSocketName", () => {
  it("under the root when short enough, else none; a deep root's name is one per root", () => {
    expect(socketInRoot("/tmp/r")).toBe("/tmp/r/run/muster/supervisor.sock");
    const deep = `/tmp/${"d".repeat(MAX_SOCKET_PATH)}`;
    expect(socketInRoot(deep)).toBeUndefined();
    const name = fallbackSocketName(deep);
    expect(name).toMatch(/^supervisor-[0-9a-f]{16}\.sock$/);
    expect(fallbackSocketName(deep)).toBe(name);
    expect(fallbackSocketName(`${deep}x`)).not.toBe(name);
  });
});

describe("definitionText", () => {
  it("is stable: the same definition gives the same bytes whatever the key order", () => {
    const a = definitionText({ command: ["x"], restart: "no", environment: { B: "2", A: "1" } });
    const b = definitionText({ environment: { A: "1", B: "2" }, restart: "no", command: ["x"] });
    expect(a).toBe(b);
    expect(JSON.parse(a)).toEqual({ command: ["x"], environment: { A: "1", B: "2" }, restart: "no" });
  });
});

describe("builtinArgs", () => {
  const node = ["/usr/bin/node", "/opt/muster/bin/muster.js"];
  it("the flags after `health serve` of a builtin health service", () => {
    expect(
      builtinArgs({
        command: [...node, "health", "serve", "--root", "/srv/i-1/root", "--port", "8081"],
        restart: "always",
        builtin: "health",
      }),
    ).toEqual({ args: ["--root", "/srv/i-1/root", "--port", "8081"] });
  });
  it("a command that is not `muster health serve`, or an unknown builtin, is a problem", () => {
    expect(builtinArgs({ command: [...node, "boot"], restart: "always", builtin: "health" })).toEqual({
      problem: 'builtin "health": its command must be `muster health serve ...`',
    });
    expect(builtinArgs({ command: ["x"], restart: "always", builtin: "cron" as never })).toEqual({
      problem: 'unknown builtin "cron" (known: health)',
    });
    expect(builtinArgs({ command: ["x"], restart: "always" })).toEqual({ problem: "not a builtin service" });
  });
  it("is kept in the definition file", () => {
    const text = definitionText({
      command: [...node, "health", "serve"],
      restart: "always",
      builtin: "health",
    });
    expect(JSON.parse(text).builtin).toBe("health");
  });
});

describe("tellingLogLine", () => {
  it("takes the last error line of a crash, not Node's version banner", () => {
    const crash = [
      "node:events:497",
      "      throw er; // Unhandled 'error' event",
      "      ^",
      "",
      "Error: listen EADDRINUSE: address already in use 127.77.0.1:8080",
      "    at Server.setupListenHandle [as _listen2] (node:net:1872:16)",
      "Emitted 'error' event on Server instance at:",
      "",
      "Node.js v20.20.2",
      "",
    ].join("\n");
    expect(tellingLogLine(crash)).toBe("Error: listen EADDRINUSE: address already in use 127.77.0.1:8080");
    expect(tellingLogLine("npm ERR! code ENOENT\nnpm ERR! missing script: start\n")).toBe(
      "npm ERR! missing script: start",
    );
    // no error line: the last line, but never the banner alone
    expect(tellingLogLine("listening on 8080\nshutting down\n")).toBe("shutting down");
    expect(tellingLogLine("starting\nNode.js v20.20.2\n")).toBe("starting");
    expect(tellingLogLine("\n\n")).toBeUndefined();
  });
});
