// The sample application: answers with its revision (the commit it was synced to) and serves
// public/. Started by the app service with PORT and HOST in its environment.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
let revision = "unknown";
try {
  revision = execFileSync("git", ["-C", here, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
} catch {}

const server = createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true, revision }));
    return;
  }
  let body;
  try {
    body = readFileSync(join(here, "public/index.html"), "utf8").replace("{{revision}}", revision);
  } catch {
    body = `hello from ${revision}\n`;
  }
  res.writeHead(200, { "content-type": "text/html", "x-app-revision": revision });
  res.end(body);
});
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
