/** The health command's body: serve until SIGTERM/SIGINT. */
import { gateSettings } from "../boot/boot-config.ts";
import { InputError } from "../core/errors.ts";
import { currentBootId } from "../gate/boot-id.ts";
import { startHealthServer } from "../gate/health-server.ts";
import { RootFs } from "../host/root-fs.ts";

export interface HealthFlags {
  port?: string;
  host?: string;
  path?: string;
  root: string;
  config?: string;
  appCheck?: string;
  bootId?: string;
}

export async function runHealthServe(flags: HealthFlags): Promise<number> {
  const fs = new RootFs(flags.root);
  const { gateFile, config } = gateSettings(fs.root, flags.config);
  const http = config?.gate.http;
  const port = flags.port !== undefined ? Number(flags.port) : http?.port;
  if (port === undefined)
    throw new InputError("health serve: no port; pass --port N or set gate.http.port in the boot config");
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InputError(`--port ${flags.port}: expected a port number (0 to 65535)`);
  const path = flags.path ?? http?.path ?? "/health";
  if (!path.startsWith("/")) throw new InputError(`--path ${path}: must start with /`);
  const appCheck = flags.appCheck ?? http?.appCheck;
  if (appCheck !== undefined && !/^https?:\/\//.test(appCheck))
    throw new InputError(`--app-check ${appCheck}: expected an http:// or https:// URL`);
  const server = await startHealthServer({
    root: fs.root,
    gateFile,
    bootId: currentBootId(flags.bootId),
    port,
    host: flags.host ?? http?.host ?? "0.0.0.0",
    path,
    appCheck,
  });
  process.stdout.write(`muster health: serving ${server.url} (gate ${gateFile} under ${fs.root})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  await server.close();
  return 0;
}
