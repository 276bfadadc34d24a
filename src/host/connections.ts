/**
 * In-flight connections to a local port, from Linux's /proc/net/tcp and tcp6: what `muster
 * watch` waits on as a server drains. ESTABLISHED rows (state 01) whose local end is the port
 * (and, when given, the address). Nothing unreadable is an error: it counts as no connection, so
 * a host without /proc drains at once instead of waiting out the timeout for nothing.
 */
import * as fs from "node:fs";

/** /proc/net/tcp's state column for ESTABLISHED (include/net/tcp_states.h: TCP_ESTABLISHED = 1) */
const TCP_ESTABLISHED = "01";

/** PURE: an IPv4 address as /proc/net/tcp writes it (host byte order on little-endian: 127.0.0.1 is 0100007F). */
export function procIpv4(address: string): string {
  return address
    .split(".")
    .map((n) => Number(n).toString(16).padStart(2, "0").toUpperCase())
    .reverse()
    .join("");
}

/**
 * PURE: how many rows of a /proc/net/tcp or tcp6 table (heading included) are ESTABLISHED
 * connections whose local end is `port` (on `address`, an IPv4 address, when given; in tcp6 it
 * appears as an IPv4-mapped address).
 */
export function countEstablished(table: string, port: number, address?: string): number {
  const hexPort = port.toString(16).padStart(4, "0").toUpperCase();
  const v4 = address ? procIpv4(address) : undefined;
  let n = 0;
  for (const line of table.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== TCP_ESTABLISHED) continue;
    const [localAddr, localPort] = (f[1] ?? "").split(":");
    if (localPort?.toUpperCase() !== hexPort || !localAddr) continue;
    if (v4) {
      const a = localAddr.toUpperCase();
      // tcp: 8 hex digits; tcp6: ::ffff:a.b.c.d is 0000000000000000FFFF0000 then the IPv4 word
      if (a !== v4 && a !== `0000000000000000FFFF0000${v4}`) continue;
    }
    n++;
  }
  return n;
}

/** ESTABLISHED connections to the local `port` now (both tables); 0 when /proc cannot be read. */
export function establishedConnections(port: number, address?: string, procNet = "/proc/net"): number {
  let n = 0;
  for (const table of ["tcp", "tcp6"]) {
    try {
      n += countEstablished(fs.readFileSync(`${procNet}/${table}`, "latin1"), port, address);
    } catch {}
  }
  return n;
}
