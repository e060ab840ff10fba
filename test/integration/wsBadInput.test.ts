import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { loopbackOffer } from "../../src/testkit/peer.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";

describe("bad input on /ws gets a clear error and harms nothing", () => {
  let recbot: Recbot;
  let url: string;
  let base: string;
  let offer: string;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-bad-"));
    recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: "silent", maxMessageBytes: 64 * 1024 });
    base = await recbot.listen();
    url = base.replace("http", "ws") + "/ws";
    offer = await loopbackOffer();
  });
  afterAll(async () => {
    await recbot?.close();
  });

  async function errorFor(message: unknown): Promise<{ code: string; message: string }> {
    const c = new WsClient(url);
    await c.opened();
    c.send(message);
    const e = await c.waitFor((m) => m.type === "error");
    c.close();
    return e;
  }

  it.each([
    ["text that is not JSON", "{not json", "bad_json", /^message is not valid JSON: /],
    ["a JSON array", "[1,2]", "bad_message", /^message must be a JSON object$/],
    ["an object without type", { sdp: "x" }, "bad_message", /^message needs a string "type"$/],
    ["an unknown type", { type: "dance" }, "unknown_type", /^unknown message type "dance"$/],
    ["an offer without sdp", { type: "offer" }, "bad_message", /^invalid "offer" message at \/sdp: .*required/],
    ["an offer whose sdp is a number", { type: "offer", sdp: 42 }, "bad_message", /^invalid "offer" message at \/sdp: .*string/],
    ["a candidate with a wrong shape", { type: "candidate", candidate: { sdpMid: "0" } }, "bad_message", /^invalid "candidate" message at \/candidate: /],
    ["an SDP that is not SDP", { type: "offer", sdp: "hello" }, "invalid_sdp", /^not an SDP offer: missing v= or m= lines$/],
  ])("%s → error %s", async (_name, message, code, text) => {
    const e = await errorFor(message);
    expect(e).toEqual({ type: "error", code, message: expect.stringMatching(text) });
  });

  it("an SDP werift rejects (broken m-line) → invalid_sdp, and the socket can still send a good offer", async () => {
    const c = new WsClient(url);
    await c.opened();
    c.send({ type: "offer", sdp: offer.replace(/^m=video \d+/m, "m=video notaport").replace(/a=fingerprint:.*\r\n/g, "") });
    const e = await c.waitFor((m) => m.type === "error");
    expect(e).toMatchObject({ code: "invalid_sdp", message: expect.stringMatching(/^the offer was rejected: .*m line/) });
    c.send({ type: "offer", sdp: offer });
    const answer = await c.waitFor((m) => m.type === "answer");
    expect(answer.sdp).toMatch(/^v=0/);
    c.close();
  });

  it("an offer with no codec recbot records → unsupported_codec naming the kind", async () => {
    const vp9Only = await loopbackOffer(); // its VP8 is renamed H265, which recbot does not record
    const sdp = vp9Only.replace(/VP8\/90000/g, "H265/90000");
    const e = await errorFor({ type: "offer", sdp });
    expect(e.code).toBe("unsupported_codec");
    expect(e.message).toMatch(/^no common video codec: offer has h265, recbot records vp8, /);
  });

  it("a second offer on the same socket → duplicate_offer", async () => {
    const c = new WsClient(url);
    await c.opened();
    c.send({ type: "offer", sdp: offer });
    await c.waitFor((m) => m.type === "answer");
    c.send({ type: "offer", sdp: offer });
    expect(await c.waitFor((m) => m.type === "error")).toMatchObject({ code: "duplicate_offer", message: "an offer was already exchanged on this socket" });
    c.close();
  });

  it("candidates sent before the offer are kept, and a candidate after bye → no_session", async () => {
    const c = new WsClient(url);
    await c.opened();
    c.send({ type: "candidate", candidate: { candidate: "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", sdpMid: "0", sdpMLineIndex: 0 } });
    c.send({ type: "offer", sdp: offer });
    await c.waitFor((m) => m.type === "answer");
    expect(c.messages.filter((m) => m.type === "error")).toEqual([]);
    c.send({ type: "bye" });
    c.send({ type: "candidate", candidate: null });
    expect(await c.waitFor((m) => m.type === "error")).toMatchObject({ code: "no_session", message: expect.stringMatching(/session has ended/) });
    expect(await c.closed()).toBe(1000);
  });

  it("a message over maxMessageBytes closes the socket with 1009", async () => {
    const c = new WsClient(url);
    await c.opened();
    c.send({ type: "offer", sdp: "v=0\r\n" + "a=x\r\n".repeat(20_000) });
    expect(await c.closed()).toBe(1009);
  });

  it("binary frames → bad_message", async () => {
    const c = new WsClient(url);
    await c.opened();
    c.socket.send(Buffer.from([1, 2, 3]));
    expect(await c.waitFor((m) => m.type === "error")).toMatchObject({ code: "bad_message", message: expect.stringMatching(/^binary messages are not supported/) });
    c.close();
  });

  it("after all of that the server is healthy and accepts a new session", async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    const c = new WsClient(url);
    await c.opened();
    c.send({ type: "offer", sdp: offer });
    const answer = await c.waitFor((m) => m.type === "answer");
    expect(answer.sessionId).toMatch(/[0-9a-f-]{36}/);
    c.close();
  });
});
