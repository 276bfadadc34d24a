import { once } from "node:events";
import { type AddressInfo, createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { portTaken, takenAddresses } from "./address-check.ts";

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function listen(host: string): Promise<number> {
  const s = createServer().listen(0, host);
  servers.push(s);
  await once(s, "listening");
  return (s.address() as AddressInfo).port;
}

describe("taken addresses", () => {
  it("a port someone listens on is taken; the same port on another address is not", async () => {
    const port = await listen("127.94.0.2");
    expect(await portTaken("127.94.0.2", port)).toBe(true);
    expect(await portTaken("127.94.0.3", port)).toBe(false);
  });

  it("finds every taken address and port of a block, in the block's order, however deep", async () => {
    const hosts = Array.from({ length: 200 }, (_, i) => `127.94.1.${i + 1}`);
    const p1 = await listen("127.94.1.170");
    const p2 = await listen("127.94.1.5");
    const taken = await takenAddresses(hosts, [p1, p2], 8);
    expect(taken).toEqual([
      { host: "127.94.1.5", port: p2 },
      { host: "127.94.1.170", port: p1 },
    ]);
    expect(await takenAddresses([], [p1])).toEqual([]);
  });
});
