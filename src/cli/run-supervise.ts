/** The supervise command's body, loaded only when it runs. */
import { RootFs } from "../host/root-fs.ts";
import { stopSupervisor, supervisorStatus } from "../providers/supervisor-client.ts";
import { runSupervisor } from "../providers/supervisor-daemon.ts";

export async function runSupervise(
  action: "run" | "stop" | "status",
  opts: { root: string; json: boolean },
): Promise<boolean> {
  const root = new RootFs(opts.root).root; // a missing root is bad input (exit 2)
  if (action === "run") {
    await runSupervisor({ root });
    return true;
  }
  if (action === "stop") {
    const was = await stopSupervisor(root);
    process.stdout.write(
      was
        ? `muster: stopped the supervisor of ${root} and its services\n`
        : `muster: no supervisor runs for ${root}\n`,
    );
    return true;
  }
  const services = await supervisorStatus(root);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ running: services !== undefined, services: services ?? {} }, null, 2)}\n`,
    );
    return true;
  }
  if (!services) {
    process.stdout.write(`muster: no supervisor runs for ${root}\n`);
    return true;
  }
  for (const s of Object.values(services))
    process.stdout.write(
      `${s.name.padEnd(20)} ${s.state.padEnd(9)} ${s.pid ? `pid ${s.pid}` : ""}${s.error ? `  ${s.error}` : ""}\n`,
    );
  return true;
}
