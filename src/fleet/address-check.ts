/**
 * Whether an instance's address and port are taken already. Two fleets on different state
 * directories but the same address block (both on the default one, say) would otherwise start,
 * and the second fleet's apps die at once with EADDRINUSE while its load balancer checks the
 * first fleet's instances. `muster fleet up` tries the block's first address before it starts.
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
