/**
 * HAProxy's backend as a fixed set of server slots, PURE: which admin-socket commands give a
 * slot to a target and take it back, which slot a new target gets, and how many there are.
 *
 * Why slots and not `add server` / `del server`: HAProxy 2.6 (Debian 12) crashes (SIGSEGV) when
 * a server is deleted while its sessions are still being shut down and another is added right
 * after. The sequence `set server B/S state maint; shutdown sessions server B/S; del server B/S`
 * followed within a second by `add server B/T ... check` + `enable health B/T` killed it in 3 of
 * 3 runs of 10 instance kills under steady traffic. A slot is declared once in haproxy.cfg and
 * never freed, so nothing a session or a health check still points at goes away: a target only
 * changes a slot's address (in maintenance, with no session) and its state (drain, ready, maint).
 */

export interface ServerSlot {
  name: string;
  /** who holds it now; undefined: free (in maintenance) */
  holder?: string;
  /** who held it last (log lines arriving after a release still name the right target) */
  lastHolder?: string;
  /** when it was last released, ms; 0 for never used */
  freedAt: number;
}

/** How many slots a backend gets for a group of at most `groupMax` instances. */
export function slotCount(groupMax: number): number {
  // instances being replaced and targets still draining hold slots next to the group's max
  return Math.max(16, groupMax * 4);
}

export function slotName(i: number): string {
  return `slot${i + 1}`;
}

/** The free slot released longest ago (so a late log line of its last holder stays attributable). */
export function pickFreeSlot(slots: readonly ServerSlot[]): ServerSlot | undefined {
  let best: ServerSlot | undefined;
  for (const s of slots) if (s.holder === undefined && (!best || s.freedAt < best.freedAt)) best = s;
  return best;
}

/**
 * Give slot `server` (backend/slot) to a target: point it at the target while in maintenance,
 * drain (checked, no request), then force its health down, so it counts as up only after
 * `rise` fresh checks of this target, not from what its last holder's checks left behind.
 * One line: HAProxy runs `;`-separated commands in order.
 */
export function assignCommands(server: string, host: string, port: number): string {
  return [
    `set server ${server} state maint`,
    `set server ${server} addr ${host} port ${port}`,
    `set server ${server} state drain`,
    `set server ${server} health down`,
  ].join("; ");
}

/** Take a slot back: maintenance (no new request); `shutdown` also ends its sessions. */
export function releaseCommands(server: string, shutdown: boolean): string {
  return [
    `set server ${server} state maint`,
    ...(shutdown ? [`shutdown sessions server ${server}`] : []),
  ].join("; ");
}
