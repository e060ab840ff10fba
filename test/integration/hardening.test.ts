import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeClip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import { loopbackOffer } from "../../src/testkit/peer.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { whip } from "../../src/testkit/whipClient.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";
import { serverPerTest } from "../helpers/testServer.ts";

/** Issue 16 items 5, 6, 9, 10 and 12, and issue 12's "every browser's offer is accepted", with real clients. */

const { start } = serverPerTest("hardening");

const TOKEN = "hardening-token-0123456789";
const hostCandidate = (i: number) => `candidate:${i} 1 udp 2130706431 127.0.0.1 ${20000 + i} typ host`;

/** Firefox's offer after setCodecPreferences(VP8) with H.264 available: fmtp/rtcp-fb/rtpmap lines for payload types not on m=video. */
export function firefoxStrayLines(sdp: string): string {
  const stray = [
    "a=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1",
    "a=fmtp:97 profile-level-id=42e01f;level-asymmetry-allowed=1",
    "a=rtcp-fb:126 nack",
    "a=rtcp-fb:126 nack pli",
    "a=rtcp-fb:126 ccm fir",
    "a=rtpmap:105 H264/90000",
    "a=fmtp:105 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1",
  ];
  // werift's offer puts VP8 on 96 (and its rtx on 97 only if negotiated): pick stray types not on the m= line.
  const video = /^m=video [^\r\n]*/m.exec(sdp)![0];
  expect(video.split(" ").slice(3)).not.toContain("126");
  const lines = video.split(" ").slice(3).includes("97") ? stray.filter((l) => !l.includes(":97 ")) : stray;
  return sdp.replace(/(^m=video [^\r\n]*\r\n)/m, `$1${lines.join("\r\n")}\r\n`);
}

describe("one session limit for every way in (issue 16 #5)", () => {
  it("60 concurrent WHIP POSTs with maxSessions=20: 20 answered, 40 refused with 503 + Retry-After; /ws refused too", async () => {
    const { base, ws } = await start({ maxSessions: 20, connectTimeoutSeconds: 30 });
    const offer = await loopbackOffer();
    const results = await Promise.all(Array.from({ length: 60 }, () => whip.post(`${base}/whip`, offer)));
    const created = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 503);
    expect(created).toHaveLength(20);
    expect(refused).toHaveLength(40);
    for (const r of refused) {
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(JSON.parse(r.body)).toMatchObject({ code: "too_many_sessions" });
    }
    expect(((await (await fetch(`${base}/healthz`)).json()) as { sessions: number }).sessions).toBe(20);

    // The same limit holds for /ws (offer or call) while WHIP holds every slot.
    const socket = new WsClient(ws);
    expect(await socket.closed()).toBe(1013);
    expect(socket.messages[0]).toMatchObject({ type: "error", code: "too_many_sessions" });

    // A slot freed by DELETE is usable again.
    const location = new URL(created[0].headers.get("location")!, base).toString();
    expect((await whip.delete(location)).status).toBe(200);
    expect((await whip.post(`${base}/whip`, offer)).status).toBe(201);
  });
});

describe("trickled candidates are capped per session (issue 16 #6)", () => {
  it("/ws: candidates after the offer count toward the same 100 as before it, with a clear error", async () => {
    const { ws } = await start({ wsMessagesPerSecond: 1000 }); // this test's 151 messages in a burst are not a flood
    const client = new WsClient(ws);
    await client.opened();
    for (let i = 0; i < 40; i++) client.send({ type: "candidate", candidate: { candidate: hostCandidate(i), sdpMid: "0", sdpMLineIndex: 0 } });
    const offer = await loopbackOffer();
    const inline = offer.match(/^a=candidate:/gm)?.length ?? 0; // they count too
    client.send({ type: "offer", sdp: offer });
    await client.waitFor((m) => m.type === "answer");
    for (let i = 40; i < 150; i++) client.send({ type: "candidate", candidate: { candidate: hostCandidate(i), sdpMid: "0", sdpMLineIndex: 0 } });
    const error = await client.waitFor((m) => m.type === "error" && m.code === "too_many_candidates", 10_000);
    expect(error.message).toMatch(/more than 100 ICE candidates/);
    // Every candidate beyond the 100th is refused, one error each; the socket stays usable.
    const refused = 150 + inline - 100;
    await client.waitFor(() => client.messages.filter((m) => m.code === "too_many_candidates").length === refused, 10_000).catch(() => {});
    expect(client.messages.filter((m) => m.code === "too_many_candidates")).toHaveLength(refused);
    expect(client.closeCode).toBeUndefined();
    client.close();
  });

  it("WHIP: a PATCH with 3,000 candidates is refused with 400 too_many_candidates before any is applied", async () => {
    const { base } = await start({});
    const post = await whip.post(`${base}/whip`, await loopbackOffer());
    expect(post.status).toBe(201);
    const location = new URL(post.headers.get("location")!, base).toString();
    const frag = ["a=mid:0", ...Array.from({ length: 3000 }, (_, i) => `a=${hostCandidate(i)}`), ""].join("\r\n");
    const patch = await whip.patch(location, frag, { ifMatch: post.headers.get("etag")! });
    expect(patch.status).toBe(400);
    expect(JSON.parse(patch.body)).toMatchObject({ code: "too_many_candidates" });
    // Small fragments go through until the session's 100 are used up.
    const small = (from: number) => ["a=mid:0", ...Array.from({ length: 60 }, (_, i) => `a=${hostCandidate(from + i)}`), ""].join("\r\n");
    expect((await whip.patch(location, small(0))).status).toBe(204);
    const second = await whip.patch(location, small(60));
    expect(second.status).toBe(400);
    expect(JSON.parse(second.body)).toMatchObject({ code: "too_many_candidates" });
  });
});

describe("WHIP hands out clientIceServers and follows corsOrigins (issue 16 #9, #10)", () => {
  it("Link headers name clientIceServers (with credentials), never recbot's own iceServers", async () => {
    const { base } = await start({
      iceServers: ["stun:10.0.0.5:3478", "turn:10.0.0.5:3478"], clientIceServers: ["stun:turn.example.org:3478", "turn:turn.example.org:3478?transport=udp"],
      turnSecret: "turn-secret-for-the-test", connectTimeoutSeconds: 2,
    });
    const post = await whip.post(`${base}/whip`, await loopbackOffer());
    expect(post.status).toBe(201);
    const link = post.headers.get("link")!;
    expect(link).toContain("<stun:turn.example.org:3478>");
    expect(link).toMatch(/<turn:turn\.example\.org:3478\?transport=udp>; rel="ice-server"; username="\d+:[0-9a-f-]+"; credential="[^"]+"/);
    expect(link).not.toContain("10.0.0.5");
    const ice = (await (await fetch(`${base}/ice-servers`)).json()) as { urls: string | string[] }[];
    expect(ice.flatMap((s) => s.urls)).toEqual(["stun:turn.example.org:3478", "turn:turn.example.org:3478?transport=udp"]);
  });

  it("without corsOrigins: no Access-Control-Allow-Origin on WHIP, 401s and preflights included", async () => {
    const { base } = await start({ authTokens: [TOKEN] });
    const origin = { origin: "https://evil.example" };
    const unauthorized = await fetch(`${base}/whip`, { method: "POST", body: "v=0", headers: { "content-type": "application/sdp", ...origin } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("access-control-allow-origin")).toBeNull();
    const post = await fetch(`${base}/whip`, { method: "POST", body: await loopbackOffer(), headers: { "content-type": "application/sdp", authorization: `Bearer ${TOKEN}`, ...origin } });
    expect(post.status).toBe(201);
    expect(post.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await fetch(`${base}/whip`, { method: "OPTIONS", headers: { ...origin, "access-control-request-method": "POST" } });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    const location = new URL(post.headers.get("location")!, base).toString();
    const del = await fetch(location, { method: "DELETE", headers: { authorization: `Bearer ${TOKEN}`, ...origin } });
    expect(del.status).toBe(200);
    expect(del.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("with corsOrigins: the listed origin is allowed on WHIP (201 and 401, Location/ETag/Link exposed), others are not", async () => {
    const { base } = await start({ authTokens: [TOKEN], corsOrigins: ["https://app.example"] });
    const allowed = { origin: "https://app.example" };
    const unauthorized = await fetch(`${base}/whip`, { method: "POST", body: "v=0", headers: { "content-type": "application/sdp", ...allowed } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const post = await fetch(`${base}/whip`, { method: "POST", body: await loopbackOffer(), headers: { "content-type": "application/sdp", authorization: `Bearer ${TOKEN}`, ...allowed } });
    expect(post.status).toBe(201);
    expect(post.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(post.headers.get("access-control-expose-headers")).toMatch(/Location.*ETag.*Link/);
    const other = await fetch(`${base}/whip`, { method: "POST", body: "v=0", headers: { "content-type": "application/sdp", origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).not.toBe("*");
    expect(other.headers.get("access-control-allow-origin")).not.toBe("https://evil.example");
  });
});

describe("ids, auth schemes and ranges (issue 16 #12)", () => {
  it("accepts `Authorization: bearer` in any case and ignores a multi-range request (whole file, 200)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-hardening-"));
    const id = "rec_20260101_000000_abcd1234";
    const bytes = Buffer.alloc(5000, 7);
    writeFileSync(path.join(dir, `${id}.webm`), bytes);
    writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({
      id, sessionId: "s", streamId: "x", file: path.join(dir, `${id}.webm`), container: "webm", tracks: [], state: "finished", startedAt: new Date().toISOString(),
    }));
    const { base } = await start({ recordingsDir: dir, authTokens: [TOKEN] });
    for (const scheme of ["bearer", "BEARER", "Bearer", "bEaReR"]) {
      expect((await fetch(`${base}/recordings/${id}`, { headers: { authorization: `${scheme} ${TOKEN}` } })).status).toBe(200);
    }
    const auth = { authorization: `Bearer ${TOKEN}` };
    const multi = await fetch(`${base}/recordings/${id}/file`, { headers: { ...auth, range: "bytes=0-99,200-299" } });
    expect(multi.status).toBe(200);
    expect(Buffer.from(await multi.arrayBuffer()).equals(bytes)).toBe(true);
    const single = await fetch(`${base}/recordings/${id}/file`, { headers: { ...auth, range: "bytes=100-199" } });
    expect(single.status).toBe(206);
    expect((await single.arrayBuffer()).byteLength).toBe(100);
  });

  it("stores and echoes a bounded, sanitized stream id for a 100 KB msid with NUL and bidi characters", async () => {
    const { ws, dir } = await start({});
    const hostile = "cam\u0000\u202eera" + "x".repeat(100_000);
    const clip = await makeClip({ seconds: 2 });
    const result = await publish({
      url: ws, clip,
      // Both tracks' msid lines: 200 KB of the 256 KB a message may have.
      mapOffer: (sdp) => sdp.replace(/^a=msid:(\S+) /gm, `a=msid:${hostile} `),
    });
    const streamIds = result.client.messages.filter((m) => m.type === "recording").map((m) => m.streamId as string);
    expect(streamIds.length).toBeGreaterThan(0);
    for (const id of streamIds) {
      expect([...id].length).toBeLessThanOrEqual(64);
      expect(id).not.toMatch(/[\u0000-\u001f\u202e]/);
      expect(id.startsWith("camera")).toBe(true);
    }
    const sidecars = readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => readFileSync(path.join(dir, f), "utf8"));
    expect(sidecars).toHaveLength(1);
    expect(sidecars[0].length).toBeLessThan(10_000);
    expect(JSON.parse(sidecars[0]).streamId).toBe(streamIds[0]);
  });
});

describe("browser offers werift's parser cannot take are repaired (issue 12)", () => {
  it("records through a Firefox-style offer with fmtp/rtcp-fb/rtpmap lines for payload types not on the m= line", async () => {
    const { ws, dir } = await start({});
    const clip = await makeClip({ seconds: 3 });
    let sent = "";
    const result = await publish({ url: ws, clip, mapOffer: (sdp) => (sent = firefoxStrayLines(sdp)) });
    expect(sent).toMatch(/^a=fmtp:126 /m);
    expect(result.answerSdp).toMatch(/VP8\/90000/);
    expect(result.answerSdp).not.toMatch(/H264/);
    expect(result.finished.state).toBe("finished");
    const p = await probe(path.join(dir, result.finished.file));
    expect(stream(p, "video").codec_name).toBe("vp8");
    expect(stream(p, "audio").codec_name).toBe("opus");
    expect(Number(stream(p, "video").nb_read_frames) / result.framesSent.video).toBeGreaterThanOrEqual(0.98);
    expect(await decodeErrors(path.join(dir, result.finished.file))).toBe("");
  });

  it("WHIP answers such an offer with 201, not 400", async () => {
    const { base } = await start({ connectTimeoutSeconds: 2 });
    const post = await whip.post(`${base}/whip`, firefoxStrayLines(await loopbackOffer()));
    expect(post.status, post.body).toBe(201);
    expect(post.body).toMatch(/^v=0/);
  });
});
