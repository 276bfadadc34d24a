/**
 * For tests of credentials: a git http server that asks for HTTP Basic authentication, in front
 * of the fleet's git server (git http-backend as CGI). Every request's Authorization header is
 * recorded; one without the expected credentials is answered 401, as a real git host does.
 * `redirectTo` answers every request with a redirect to the same path on another server, to see
 * which headers follow a redirect.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type GitServer, startGitServer } from "../fleet/control/git-server.ts";

export interface AuthGitServer {
  /** http://127.0.0.1:PORT, without credentials */
  url: string;
  /** the Authorization header of every request ("" when there was none), oldest first */
  authorizations: string[];
  close(): Promise<void>;
}

export async function startAuthGitServer(opts: {
  projectRoot: string;
  user: string;
  password: string;
  host?: string;
  redirectTo?: string;
}): Promise<AuthGitServer> {
  const expected = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString("base64")}`;
  const authorizations: string[] = [];
  let backend: GitServer | undefined;
  if (!opts.redirectTo) backend = await startGitServer({ projectRoot: opts.projectRoot, host: opts.host });
  const server: Server = createServer((req, res) => {
    const auth = req.headers.authorization ?? "";
    authorizations.push(auth);
    if (opts.redirectTo) {
      res.writeHead(302, { location: `${opts.redirectTo}${req.url}` }).end();
      return;
    }
    if (auth !== expected) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="git"' }).end("authentication required\n");
      return;
    }
    const target = new URL(backend!.url);
    const fwd = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    fwd.on("error", () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((resolve) => server.listen(0, opts.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? "127.0.0.1"}:${port}`,
    authorizations,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await backend?.close();
    },
  };
}
