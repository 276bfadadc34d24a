import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { countEstablished, establishedConnections, procIpv4 } from "./connections.ts";

const HEAD =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const TCP = [
  HEAD,
  // 127.0.0.1:8080 LISTEN
  "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 100 1 0 100 0 0 10 0",
  // 127.0.0.1:8080 <- 127.0.0.1:40000 ESTABLISHED
  "   1: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 101 1 0 20 4 30 10 -1",
  // 127.77.0.3:8080 <- 127.0.0.1:40001 ESTABLISHED
  "   2: 03004D7F:1F90 0100007F:9C41 01 00000000:00000000 00:00000000 00000000     0        0 102 1 0 20 4 30 10 -1",
  // 127.0.0.1:40000 -> 127.0.0.1:8080: the client's end, not counted
  "   3: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 103 1 0 20 4 30 10 -1",
  // 127.0.0.1:8080 TIME_WAIT
  "   4: 0100007F:1F90 0100007F:9C42 06 00000000:00000000 03:00000100 00000000     0        0 0 3 0",
].join("\n");
const TCP6 = [
  HEAD,
  // ::ffff:127.77.0.3:8080 ESTABLISHED
  "   0: 0000000000000000FFFF000003004D7F:1F90 0000000000000000FFFF00000100007F:9C43 01 00000000:00000000 00:00000000 00000000     0        0 104 1 0 20 4 30 10 -1",
].join("\n");

describe("countEstablished", () => {
  it("counts ESTABLISHED rows whose local end is the port", () => {
    expect(countEstablished(TCP, 8080)).toBe(2);
    expect(countEstablished(TCP, 8081)).toBe(0);
  });
  it("on one address only, IPv4-mapped in tcp6 too", () => {
    expect(procIpv4("127.77.0.3")).toBe("03004D7F");
    expect(countEstablished(TCP, 8080, "127.77.0.3")).toBe(1);
    expect(countEstablished(TCP, 8080, "127.0.0.1")).toBe(1);
    expect(countEstablished(TCP6, 8080, "127.77.0.3")).toBe(1);
    expect(countEstablished(TCP6, 8080, "127.77.0.4")).toBe(0);
  });
});

describe("establishedConnections (this host's /proc)", () => {
  it("sees a connection to a listener while it is open, and not after", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    const accepted: net.Socket[] = [];
    server.on("connection", (s) => accepted.push(s));
    const client = net.connect(port, "127.0.0.1");
    await new Promise<void>((r) => client.on("connect", () => r()));
    expect(establishedConnections(port, "127.0.0.1")).toBe(1);
    client.destroy();
    for (const s of accepted) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    expect(establishedConnections(port, "127.0.0.1")).toBe(0);
  });
  it("no /proc: no connections", () => {
    expect(establishedConnections(8080, undefined, "/nonexistent/proc/net")).toBe(0);
  });
});
