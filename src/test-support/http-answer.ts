/** One plain HTTP request for tests (no agent, no keep-alive), its whole answer as text. */
import { type RequestOptions, request } from "node:http";

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpAnswer(opts: RequestOptions, body?: string | Buffer, timeoutMs = 1500): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ ...opts, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error("test request timed out")));
    req.end(body);
  });
}
