/**
 * Whether an instance's address and port are taken already. Two fleets on different state
 * directories but the same address block (both on the default one, say) would otherwise start,
 * and the second fleet's apps die at once with EADDRINUSE while its load balancer checks the
 * first fleet's instances. `muster fleet up` tries every address of its block before it starts:
 * instances take the block's addresses in turn, so another fleet may hold any of them.
 */
import { createServer } from "node:net";

/** Is host:port taken (listening there fails with EADDRINUSE)? Other failures count as free. */
export function portTaken(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "EADDRINUSE"));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

/** Every host:port of `hosts` x `ports` that is taken, in that order; `limit` probes at a time. */
export async function takenAddresses(
  hosts: readonly string[],
  ports: readonly number[],
  limit = 64,
): Promise<Array<{ host: string; port: number }>> {
  const all = hosts.flatMap((host) => ports.map((port) => ({ host, port })));
  const taken = new Array<boolean>(all.length).fill(false);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < all.length; i = next++) taken[i] = await portTaken(all[i]!.host, all[i]!.port);
  };
  await Promise.all(Array.from({ length: Math.min(limit, all.length) }, worker));
  return all.filter((_, i) => taken[i]);
}
