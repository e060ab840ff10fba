import type { CloseReason } from "./session.ts";

/**
 * Ends where the client is done sending: media it sent before saying so may still be queued in the session's UDP
 * socket (signaling and media travel apart, and a busy server reads its sockets late). Failures, timeouts and
 * limits close at once.
 */
export const DRAINED_REASONS: ReadonlySet<CloseReason> = new Set<CloseReason>([
  "closed", "bye", "socket_closed", "whip_delete", "left_call", "call_ended", "server_closing",
]);
/** However busy the socket stays (a client that goes on sending after its bye), the drain ends here. */
export const DRAIN_MAX_MS = 5000;

/** Resolves after one full turn of the event loop: two check phases apart, so one poll for I/O lies between. */
export function nextLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Waits until a whole event-loop turn passes without a new packet (`packets()` unchanged), or `maxMs`. libuv reads
 * every readable socket in each turn's poll phase, so a turn without a packet means the session's socket queue is
 * empty; on an idle server that is the first turn, under backlog it is when recbot has read what was queued
 * (2026-12-07, N = 100 publishers: up to 2 MB queued per socket, ~5 s of media lost at each bye before).
 * Returns how many packets came meanwhile.
 */
export async function drainPackets(packets: () => number, { maxMs = DRAIN_MAX_MS, turn = nextLoopTurn, now = () => performance.now() } = {}): Promise<number> {
  const start = now();
  const first = packets();
  let last = first;
  while (now() - start < maxMs) {
    await turn();
    const seen = packets();
    if (seen === last) break;
    last = seen;
  }
  return last - first;
}
