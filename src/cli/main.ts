/**
 * muster's command line. Commands register themselves here; each one imports its heavy modules
 * (esbuild, the AWS SDK) only inside its action, so `muster --version` stays fast.
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../version.ts";
import { registerBoot } from "./commands/boot.ts";
import { registerCheck } from "./commands/check.ts";
import { registerConverge } from "./commands/converge.ts";
import { registerDemo } from "./commands/demo.ts";
import { registerFleet } from "./commands/fleet.ts";
import { registerGate } from "./commands/gate.ts";
import { registerHealth } from "./commands/health.ts";
import { registerImage } from "./commands/image.ts";
import { registerInit } from "./commands/init.ts";
import { registerInstall } from "./commands/install.ts";
import { registerSchema } from "./commands/schema.ts";
import { registerStatus } from "./commands/status.ts";
import { registerSupervise } from "./commands/supervise.ts";
import { registerWatch } from "./commands/watch.ts";
import { EXIT, handleError, jsonError } from "./errors.ts";

export function buildProgram(): Command {
  const program = new Command("muster")
    .description(
      "Take a server launched by an autoscaler from booted-from-an-image to serving traffic, safely:\n" +
        "fetch the config repo, find the role, converge the host, and only then open the health gate.",
    )
    .version(VERSION, "-V, --version", "print muster's version")
    .option("--debug", "print stack traces for errors")
    .exitOverride();
  registerInit(program);
  registerConverge(program);
  registerCheck(program);
  registerSupervise(program);
  registerDemo(program);
  registerFleet(program);
  registerBoot(program);
  registerGate(program);
  registerHealth(program);
  registerImage(program);
  registerInstall(program);
  registerSchema(program);
  registerStatus(program);
  registerWatch(program);
  oneLineUsageErrors(program);
  program.hook("preAction", (_program, action) => refuseEmptyValues(action));
  return program;
}

/**
 * An empty value is never a choice: `--root ""` meant the current directory to path.resolve (a
 * converge of whatever directory the shell was in), `--state-dir ""` the default, `--host ""`
 * every interface. A usage error, as commander's own: one line, exit 2.
 */
function refuseEmptyValues(cmd: Command): void {
  for (const opt of cmd.options) {
    const v = cmd.getOptionValue(opt.attributeName());
    if (v === "" || (Array.isArray(v) && v.includes("")))
      cmd.error(`error: option '${opt.long ?? opt.flags}' is empty: give a value`, {
        exitCode: EXIT.input,
        code: "muster.emptyValue",
      });
  }
  cmd.registeredArguments.forEach((arg, i) => {
    const v = cmd.processedArgs[i];
    if (v === "" || (Array.isArray(v) && v.includes("")))
      cmd.error(`error: argument '${arg.name()}' is empty: give a value`, {
        exitCode: EXIT.input,
        code: "muster.emptyValue",
      });
  });
}

/** `muster fleet scale` for a command, `muster` for the program itself. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * Usage errors as every other bad input: one line, prefixed with the command, saying where to
 * look. Commander writes "error: ...", sometimes with a "(Did you mean ...?)" on a second line;
 * its exit is overridden everywhere so that main() returns the exit code (2).
 */
export function usageErrorLine(cmd: Command, commanderText: string): string {
  const text = commanderText
    .replace(/^error: /, "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" ")
    .replace("(Did you mean", "(did you mean")
    .replace(/\.$/, "");
  const path = commandPath(cmd);
  return `${path}: ${text}; see ${path} --help\n`;
}

function oneLineUsageErrors(cmd: Command): void {
  cmd.exitOverride().configureOutput({ outputError: (str, write) => write(usageErrorLine(cmd, str)) });
  for (const sub of cmd.commands) oneLineUsageErrors(sub);
}

/**
 * Did this run ask for JSON: `--json` given to a command that has that option (`muster fleet
 * scale 3 --json` has none, and gets no JSON error either)?
 */
export function wantsJson(program: Command, argv: readonly string[]): boolean {
  if (!argv.includes("--json")) return false;
  let cmd = program;
  for (const word of argv.slice(2)) {
    const sub = cmd.commands.find((c) => c.name() === word);
    if (sub) cmd = sub;
  }
  return cmd.options.some((o) => o.long === "--json");
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? EXIT.ok);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return EXIT.ok;
      // the help a group (`muster gate`) prints when its subcommand is missing is a usage error
      if (err.code === "commander.help") return err.exitCode === 0 ? EXIT.ok : EXIT.input;
      // usage errors: commander already printed their one line
      if (wantsJson(program, argv))
        process.stdout.write(jsonError(EXIT.input, [err.message.replace(/^error: /, "").split("\n")[0]!]));
      return EXIT.input;
    }
    return handleError(err, argv.includes("--debug"), wantsJson(program, argv));
  }
}
