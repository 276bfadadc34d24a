/** Putting a server on an address: the port it got, or one line naming what could not listen where. */
import type { Server } from "node:net";
import { RunError } from "../core/errors.ts";

/**
 * Listen on host:port (port 0: one the kernel picks) and resolve with the port bound. A failure
 * (the address taken, not on this machine) rejects with a RunError: "<what>: cannot listen on
 * host:port: <why>"; the error listener goes once the server listens, so later errors are the
 * caller's.
 */
export function listenOn(server: Server, host: string, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new RunError(`${what}: cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}
