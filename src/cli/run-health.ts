/** The health command's body: serve until SIGTERM/SIGINT. */
import { Command, CommanderError } from "commander";
import { gateSettings } from "../boot/boot-config.ts";
import { InputError } from "../core/errors.ts";
import { currentBootId } from "../gate/boot-id.ts";
import { type HealthServer, startHealthServer } from "../gate/health-server.ts";
import { RootFs } from "../host/root-fs.ts";
import { defineHealthServe, type HealthFlags } from "./health-flags.ts";

/**
 * Start the endpoint `muster health serve` runs: its settings from the flags, else the boot
 * config's gate.http. Used by the command and by the supervisor (a builtin service).
 */
export async function startHealthEndpoint(
  flags: HealthFlags,
  env: Record<string, string | undefined> = process.env,
  onError?: (err: Error) => void,
): Promise<{ server: HealthServer; gateFile: string; root: string }> {
  const fs = new RootFs(flags.root);
  const { gateFile, config } = gateSettings(fs.root, flags.config);
  const http = config?.gate.http;
  const port = flags.port !== undefined ? Number(flags.port) : http?.port;
  if (port === undefined)
    throw new InputError("health serve: no port; pass --port N or set gate.http.port in the boot config");
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InputError(`--port ${flags.port}: expected a port number (0 to 65535)`);
  const path = flags.path ?? http?.path ?? "/health";
  // what a request line can name: a space ends the path there, ? and # begin what follows it
  if (!/^\/[^\s?#]*$/.test(path))
    throw new InputError(
      `--path ${path}: must start with / and hold no space, ? or # (no request could reach it)`,
    );
  const appCheck = flags.appCheck ?? http?.appCheck;
  if (appCheck !== undefined && !/^https?:\/\//.test(appCheck))
    throw new InputError(`--app-check ${appCheck}: expected an http:// or https:// URL`);
  const host = flags.host ?? http?.host ?? "0.0.0.0";
  const server = await startHealthServer({
    root: fs.root,
    gateFile,
    bootId: currentBootId(flags.bootId, env),
    port,
    host,
    path,
    appCheck,
    onError,
  }).catch((err: Error) => {
    // an address that is no address of this machine, or no address at all, is bad input
    const code = ((err.cause ?? err) as NodeJS.ErrnoException).code;
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN")
      throw new InputError(
        `${flags.host !== undefined ? "--host" : "gate.http.host"} ${host}: not an address of this machine (${code}); give one of its addresses, or 0.0.0.0`,
      );
    throw err;
  });
  return { server, gateFile, root: fs.root };
}

/**
 * The flags of `muster health serve ARGS`, parsed by the command's own definition; bad flags are
 * an InputError with commander's one line.
 */
export async function healthFlagsFrom(args: string[]): Promise<HealthFlags> {
  let flags: HealthFlags | undefined;
  let problem = "";
  const program = new Command("muster")
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: (s) => (problem += s) });
  defineHealthServe(program).action(async (opts: HealthFlags) => {
    flags = opts;
  });
  try {
    await program.parseAsync(["health", "serve", ...args], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError)
      throw new InputError(`health serve ${args.join(" ")}: ${problem.trim() || err.message}`);
    throw err;
  }
  if (!flags) throw new InputError(`health serve ${args.join(" ")}: no flags parsed`);
  return flags;
}

export async function runHealthServe(flags: HealthFlags): Promise<number> {
  const { server, gateFile, root } = await startHealthEndpoint(flags);
  process.stdout.write(`muster health: serving ${server.url} (gate ${gateFile} under ${root})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  await server.close();
  return 0;
}
