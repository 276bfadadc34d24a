import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { muster } from "../test-support/tmp.ts";
import { buildProgram, usageErrorLine, wantsJson } from "./main.ts";

/** What a parse of `args` writes to stderr, with the program's own output settings. */
async function usageError(args: string[]): Promise<string> {
  const program = buildProgram();
  let err = "";
  const capture = (c: Command) => {
    const write = (s: string) => {
      err += s;
    };
    // keep each command's outputError (the one under test), only catch where it writes
    c.configureOutput({ ...c.configureOutput(), writeErr: write, writeOut: write });
    for (const sub of c.commands) capture(sub);
  };
  capture(program);
  await expect(program.parseAsync(args, { from: "user" })).rejects.toThrow();
  return err;
}

describe("usage errors", () => {
  it("are one line: the command's path, commander's words without 'error:', where to look", () => {
    const scale = new Command("muster").command("fleet").command("scale");
    expect(usageErrorLine(scale, "error: missing required argument 'n'\n")).toBe(
      "muster fleet scale: missing required argument 'n'; see muster fleet scale --help\n",
    );
  });

  it("fold commander's suggestion into the same line", () => {
    expect(
      usageErrorLine(new Command("muster"), "error: unknown option '--dbug'\n(Did you mean --debug?)\n"),
    ).toBe("muster: unknown option '--dbug' (did you mean --debug?); see muster --help\n");
  });

  it("a group without its subcommand shows its help and exits 2; asked for, help exits 0", async () => {
    const bare = await muster(["gate"]);
    expect([bare.code, bare.stdout]).toEqual([2, ""]);
    expect(bare.stderr).toMatch(/^Usage: muster gate \[options\] \[command\]\n/);
    const asked = await muster(["gate", "--help"]);
    expect([asked.code, asked.stderr]).toEqual([0, ""]);
    expect(asked.stdout).toMatch(/^Usage: muster gate /);
  });

  it("--json errors only for commands that have --json", () => {
    const program = buildProgram();
    const argv = (...a: string[]) => ["node", "muster", ...a];
    expect(wantsJson(program, argv("converge", "--json"))).toBe(true);
    expect(wantsJson(program, argv("gate", "status", "--json"))).toBe(true);
    expect(wantsJson(program, argv("fleet", "status", "--json"))).toBe(true);
    expect(wantsJson(program, argv("fleet", "scale", "3", "--json"))).toBe(false);
    expect(wantsJson(program, argv("gate", "--json"))).toBe(false);
    expect(wantsJson(program, argv("converge"))).toBe(false);
  });

  it("are written so by every command of the program, however deep", async () => {
    expect(await usageError(["fleet", "scale"])).toBe(
      "muster fleet scale: missing required argument 'n'; see muster fleet scale --help\n",
    );
    expect(await usageError(["fleet", "scale", "3", "4"])).toBe(
      "muster fleet scale: too many arguments for 'scale'. Expected 1 argument but got 2; see muster fleet scale --help\n",
    );
    expect(await usageError(["frob"])).toBe("muster: unknown command 'frob'; see muster --help\n");
    expect(await usageError(["gate", "status", "--jsn"])).toMatch(
      /^muster gate status: unknown option '--jsn' \(did you mean --json\?\); see muster gate status --help\n$/,
    );
  });

  it('refuse an empty value before the command runs: --root "" was the current directory, converged', async () => {
    const cwd = process.cwd();
    expect(await usageError(["converge", "--repo", "x", "--role", "web", "--root", ""])).toBe(
      "muster converge: option '--root' is empty: give a value; see muster converge --help\n",
    );
    expect(await usageError(["fleet", "up", "--state-dir", ""])).toMatch(/option '--state-dir' is empty/);
    expect(
      await usageError(["converge", "--repo", "x", "--role", "web", "--attr", "a=1", "--attr", ""]),
    ).toMatch(/option '--attr' is empty/);
    expect(await usageError(["init", ""])).toBe(
      "muster init: argument 'dir' is empty: give a value; see muster init --help\n",
    );
    expect(process.cwd()).toBe(cwd);
  });
});
