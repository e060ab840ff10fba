import fc from "fast-check";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { loopbackOffer } from "../../src/testkit/peer.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";
import { parseClientMessage } from "../../src/signaling/schemas/wsMessages.ts";

/** `npm run fuzz` raises these (FUZZ_SCALE=10 → ten times the cases). */
const scale = Number(process.env.FUZZ_SCALE ?? 1);
const MESSAGE_RUNS = 8000 * scale;
const SDP_RUNS = 2000 * scale;

const knownCodes = new Set([
  "bad_json", "bad_message", "unknown_type", "invalid_sdp", "unsupported_codec", "duplicate_offer", "no_session",
  "too_many_candidates", "invalid_candidate", "ice_failed", "unexpected_answer", "invalid_state",
  "too_many_media_sections", "too_many_tracks", "too_many_streams", "stream_limit_reached",
]);
const SENTINEL = '{"type":"__sentinel__"}';

let recbot: Recbot;
let ws: string;
let base: string;
let offer: string;
beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-fuzz-"));
  recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: "silent", maxMessageBytes: 1 << 20, rateLimitPerMinute: 1_000_000,
    wsMessagesPerSecond: 1_000_000 }); // the fuzz checks what each message gets, not the flood limit (wsFlood.test.ts)
  base = await recbot.listen();
  ws = base.replace("http", "ws") + "/ws";
  offer = await loopbackOffer();
});
afterAll(async () => {
  await recbot?.close();
});

/**
 * Sends one message, then a sentinel; returns every reply up to the sentinel's error (messages are
 * handled in order). A valid `bye` ends the socket instead, which is checked here.
 */
async function exchange(client: WsClient, text: string): Promise<any[]> {
  const from = client.messages.length;
  client.send(text);
  const parsed = parseClientMessage(text);
  if (parsed.ok && parsed.message.type === "bye") {
    expect(await client.closed()).toBe(1000);
    return client.messages.splice(0);
  }
  client.send(SENTINEL);
  await client.waitFor((m) => m.type === "error" && m.code === "unknown_type" && m.message.includes("__sentinel__") && client.messages.indexOf(m) >= from, 10_000);
  const replies = client.messages.slice(from);
  client.messages.length = 0;
  return replies.slice(0, -1);
}

const candidateArb = fc.record(
  { candidate: fc.oneof(fc.string(), fc.constant("candidate:1 1 udp 2130706431 127.0.0.1 9 typ host")), sdpMid: fc.oneof(fc.string(), fc.constant(null)), sdpMLineIndex: fc.oneof(fc.integer(), fc.constant(null)) },
  { requiredKeys: [] },
);
const messageArb = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc.record({ type: fc.constantFrom("offer", "candidate", "bye", "answer", "call", ""), sdp: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), candidate: fc.oneof(candidateArb, fc.constant(null), fc.anything()) }, { requiredKeys: ["type"] }).map((m) => JSON.stringify(m)),
  fc.record({ type: fc.constant("candidate"), candidate: candidateArb }).map((m) => JSON.stringify(m)),
);

describe("fuzzing /ws", () => {
  it(`${MESSAGE_RUNS} random messages: every reply is an error with a known code, the socket and server survive`, async () => {
    let client = new WsClient(ws);
    await client.opened();
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(messageArb, async (text) => {
        if (++cases % 500 === 0 || client.socket.readyState !== client.socket.OPEN) {
          client.close();
          client = new WsClient(ws);
          await client.opened();
        }
        const replies = await exchange(client, text);
        for (const r of replies) {
          if (["answer", "offer", "candidate", "recording", "ice-servers"].includes(r.type)) continue;
          expect(r.type).toBe("error");
          expect(knownCodes.has(r.code), `unexpected code ${r.code}: ${r.message}`).toBe(true);
        }
      }),
      { numRuns: MESSAGE_RUNS },
    );
    client.close();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 600_000);

  it(`${SDP_RUNS} mutated offers: each gets an answer or a clear error, nothing is left behind`, async () => {
    const lines = offer.split("\r\n");
    const mutation = fc.oneof(
      fc.nat(offer.length).map((n) => offer.slice(0, n)),
      fc.nat(lines.length - 1).map((i) => lines.filter((_, j) => j !== i).join("\r\n")),
      fc.constantFrom("a=fingerprint", "a=ice-ufrag", "a=ice-pwd", "m=", "a=rtpmap", "a=setup", "c=").map((p) => lines.filter((l) => !l.startsWith(p)).join("\r\n")),
      fc.tuple(fc.nat(lines.length - 1), fc.string({ maxLength: 300 })).map(([i, s]) => lines.map((l, j) => (j === i ? s : l)).join("\r\n")),
      fc.tuple(fc.nat(lines.length - 1), fc.integer({ min: 1000, max: 200_000 })).map(([i, n]) => lines.map((l, j) => (j === i ? l + "x".repeat(n) : l)).join("\r\n")),
      fc.constantFrom("m=video 9 UDP/TLS/RTP/SAVPF", "m=audio 0 RTP/AVP 0", "m=application 9 foo", "m=video -1 UDP/TLS/RTP/SAVPF 96").map((m) => offer.replace(/^m=video .*$/m, m)),
    );
    let answers = 0;
    let client = new WsClient(ws);
    await client.opened();
    await fc.assert(
      fc.asyncProperty(mutation, async (sdp) => {
        const replies = await exchange(client, JSON.stringify({ type: "offer", sdp }));
        const outcome = replies.find((r) => r.type === "answer" || r.type === "error");
        expect(outcome, `no answer or error for a mutated offer`).toBeDefined();
        if (outcome.type === "answer") {
          answers++;
          client.close(); // a fresh socket per accepted offer: one offer per socket is the protocol
          await client.closed();
          client = new WsClient(ws);
          await client.opened();
        } else {
          expect(["invalid_sdp", "unsupported_codec", "ice_failed", "bad_message"]).toContain(outcome.code);
        }
      }),
      { numRuns: SDP_RUNS },
    );
    client.close();
    await client.closed();
    const deadline = Date.now() + 10_000;
    let sessions = -1;
    while (Date.now() < deadline && sessions !== 0) {
      sessions = ((await (await fetch(`${base}/healthz`)).json()) as { sessions: number }).sessions;
      if (sessions) await new Promise((r) => setTimeout(r, 200));
    }
    expect(sessions).toBe(0);
  }, 600_000);
});
