/**
 * Services muster itself provides, run by the supervisor inside its own process: a health
 * endpoint is an HTTP server that reads a file per request, and a node process of its own for it
 * costs about 50 MB and a node start on every instance. The definition still carries the command
 * a host runs as its own unit (`muster health serve ...`); the supervisor serves it in-process with
 * the same flags, parsed by the command's own definition. Loaded only when a builtin starts, so a
 * supervisor without one never loads the boot config's schema.
 */
import { RunError } from "../core/errors.ts";
import { builtinArgs, type ServiceDefinition } from "./supervisor-policy.ts";

export interface RunningBuiltin {
  /** what it serves, for the supervisor's log */
  describe: string;
  /** settles once it has stopped (asked to, or failed on its own) */
  exited: Promise<{ error?: string }>;
  stop(): Promise<void>;
}

/**
 * Start a builtin service with the environment a child would get (`env`); rejects with one line
 * when it cannot start (bad flags, port taken, broken boot config).
 */
export async function startBuiltin(
  name: string,
  def: ServiceDefinition,
  env: Record<string, string | undefined>,
): Promise<RunningBuiltin> {
  const a = builtinArgs(def);
  if ("problem" in a) throw new RunError(`service ${name}: ${a.problem}`);
  const { healthFlagsFrom, startHealthEndpoint } = await import("../cli/run-health.ts");
  let resolveExited!: (r: { error?: string }) => void;
  const exited = new Promise<{ error?: string }>((r) => {
    resolveExited = r;
  });
  let stopped: Promise<void> | undefined;
  const stop = (error?: string) => {
    stopped ??= started.server.close().then(() => resolveExited(error === undefined ? {} : { error }));
    return stopped;
  };
  let started: Awaited<ReturnType<typeof startHealthEndpoint>>;
  try {
    // an error after it listens ends this service (the supervisor's restart policy applies), not
    // the supervisor
    started = await startHealthEndpoint(await healthFlagsFrom(a.args), env, (err) => {
      void stop(`health endpoint failed: ${err.message}`);
    });
  } catch (err) {
    throw new RunError(`service ${name}: ${(err as Error).message}`);
  }
  const { server, gateFile, root } = started;
  return {
    describe: `muster health: serving ${server.url} (gate ${gateFile} under ${root})`,
    exited,
    stop: () => stop(),
  };
}
