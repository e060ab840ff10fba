import { createHmac } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import type { SendStats } from "../../src/testkit/pacer.ts";
import { startCoturn, type Coturn } from "../helpers/coturn.ts";
import { packetSpans } from "../helpers/timeline.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import { loopbackOffer } from "../../src/testkit/peer.ts";
import { publishWhip, splitCandidates, whip } from "../../src/testkit/whipClient.ts";

const TOKEN = "test-token-0123456789";

async function verify(file: string, secondsSent: number, videoFramesSent: number, sent?: SendStats) {
  const p = await probe(file);
  const v = stream(p, "video");
  const a = stream(p, "audio");
  expect(v.codec_name).toBe("vp8");
  expect(a.codec_name).toBe("opus");
  const duration = Number(p.format.duration);
  const off = Math.abs(duration - secondsSent) / secondsSent;
  // Which track a wrong duration comes from, and whether the sender ran late.
  const detail = off < 0.05 ? "" : `${JSON.stringify(await packetSpans(file))}; the sender's worst lateness ${sent ? Math.round(sent.maxLateMs) : "?"} ms`;
  expect(off, `file ${duration} s for ${secondsSent} s sent: ${detail}`).toBeLessThan(0.05);
  const frames = Number(v.nb_read_frames);
  expect(frames / videoFramesSent).toBeGreaterThanOrEqual(0.98);
  expect(frames).toBeLessThanOrEqual(videoFramesSent);
  expect(await decodeErrors(file)).toBe("");
  return { duration, frames, audioFrames: Number(a.nb_read_frames) };
}

describe("WHIP (RFC 9725)", () => {
  let recbot: Recbot;
  let base: string;
  let clip: Clip;
  let turn: Coturn;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-whip-"));

  beforeAll(async () => {
    turn = await startCoturn({ ip: "127.0.0.1", secret: "recbot-test-secret", extraArgs: ["--allow-loopback-peers"] });
    clip = await makeClip({ seconds: 3 });
    recbot = await createRecbot({
      host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"],
      iceServers: [`stun:127.0.0.1:${turn.port}`, `turn:127.0.0.1:${turn.port}`], turnSecret: turn.secret, turnTtlSeconds: 600,
      authTokens: [TOKEN, "another-token-abcdef"], connectTimeoutSeconds: 4,
      logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn",
    });
    base = await recbot.listen();
  });
  afterAll(async () => {
    await recbot?.close();
    await turn?.stop();
  });

  it("records what a werift WHIP client publishes with trickle ICE by PATCH, ending with DELETE", async () => {
    const r = await publishWhip({ url: `${base}/whip`, clip, token: TOKEN, trickle: true });
    expect(r.post.status).toBe(201);
    expect(r.post.headers.get("content-type")).toMatch(/^application\/sdp/);
    expect(r.post.headers.get("location")).toMatch(/^\/whip\/[0-9a-f-]{36}$/);
    expect(r.post.headers.get("etag")).toMatch(/^"[^"]+"$/);
    expect(r.post.body).toMatch(/^v=0/);
    expect(r.patch!.status).toBe(204);

    // Link headers: STUN as is, TURN with REST API credentials that coturn's secret validates.
    const links = r.post.headers.get("link")!.split(/,\s*(?=<)/);
    expect(links).toContain(`<stun:127.0.0.1:${turn.port}>; rel="ice-server"`);
    const turnLink = links.find((l) => l.startsWith(`<turn:127.0.0.1:${turn.port}>`))!;
    const username = /username="([^"]+)"/.exec(turnLink)![1];
    const credential = /credential="([^"]+)"/.exec(turnLink)![1];
    expect(turnLink).toContain('credential-type="password"');
    expect(Number(username.split(":")[0])).toBeGreaterThan(Date.now() / 1000 + 500);
    expect(credential).toBe(createHmac("sha1", turn.secret).update(username).digest("base64"));

    expect(r.del.status).toBe(200);
    const { recordings } = JSON.parse(r.del.body);
    expect(recordings).toHaveLength(1);
    expect(recordings[0].state).toBe("finished");
    await verify(path.join(dir, recordings[0].file), clip.seconds, r.framesSent.video, r.framesSent);

    // The resource is gone after DELETE.
    expect((await whip.delete(r.location, TOKEN)).status).toBe(404);
  });

  it("answers every error case with the RFC's status and a reason", async () => {
    const url = `${base}/whip`;
    const offer = await loopbackOffer();

    const preflight = await fetch(url, { method: "OPTIONS", headers: { origin: "https://example.test", "access-control-request-method": "POST" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("accept-post")).toBe("application/sdp");
    // No corsOrigins configured: no origin is allowed (hardening.test.ts checks it with corsOrigins set).
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");

    const noToken = await whip.post(url, offer);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await whip.post(url, offer, "wrong-token-xxxxxxxx")).status).toBe(403);
    expect((await whip.post(url, offer, "another-token-abcdef", "text/plain")).status).toBe(415);
    expect((await whip.post(url, offer, TOKEN, "application/json")).status).toBe(415);
    const malformed = await whip.post(url, "hello, not SDP", TOKEN);
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ code: "invalid_sdp", message: expect.stringMatching(/SDP/) });
    const noCodec = await whip.post(url, offer.replace(/VP8/g, "XYZ9"), TOKEN);
    expect(noCodec.status).toBe(400);
    expect(JSON.parse(noCodec.body).message).toMatch(/no common video codec/);
    expect((await whip.post(`${url}?mode=bogus`, offer, TOKEN)).status).toBe(400);
    expect((await whip.post(`${url}?mode=echo`, offer, TOKEN)).status).toBe(400); // echo needs sendrecv

    const unknown = `${url}/00000000-0000-0000-0000-000000000000`;
    expect((await whip.patch(unknown, "a=end-of-candidates\r\n", { token: TOKEN })).status).toBe(404);
    expect((await whip.delete(unknown, TOKEN)).status).toBe(404);
    expect((await whip.delete(unknown)).status).toBe(401);

    const { offer: bare, frag } = splitCandidates(offer);
    const created = await whip.post(url, bare, TOKEN);
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get("location")!, url).toString();
    const etag = created.headers.get("etag")!;
    const patchPreflight = await fetch(location, { method: "OPTIONS" });
    expect(patchPreflight.status).toBe(204);
    expect(patchPreflight.headers.get("accept-patch")).toBe("application/trickle-ice-sdpfrag");
    expect((await whip.patch(location, frag, { token: TOKEN, contentType: "application/sdp" })).status).toBe(415);
    expect((await whip.patch(location, frag, { token: TOKEN, ifMatch: '"stale"' })).status).toBe(412);
    const restart = await whip.patch(location, "a=ice-ufrag:newu\r\na=ice-pwd:newpasswordnewpassword12\r\n", { token: TOKEN, ifMatch: "*" });
    expect(restart.status).toBe(422);
    expect(JSON.parse(restart.body).code).toBe("ice_restart_unsupported");
    expect((await whip.patch(location, "a=ice-ufrag:other\r\na=ice-pwd:otherpasswordotherpass1\r\n", { token: TOKEN, ifMatch: etag })).status).toBe(422);
    expect((await whip.patch(location, "a=candidate:broken\r\n", { token: TOKEN, ifMatch: etag })).status).toBe(400);
    expect((await whip.patch(location, "garbage line", { token: TOKEN, ifMatch: etag })).status).toBe(400);
    expect((await whip.patch(location, frag, { token: TOKEN, ifMatch: etag })).status).toBe(204);
    expect((await whip.patch(location, frag, { token: "wrong-token-xxxxxxxx" })).status).toBe(403);
    const del = await whip.delete(location, TOKEN);
    expect(del.status).toBe(200);

    // A client that never connects: the session is closed after connectTimeoutSeconds.
    const abandoned = await whip.post(url, bare, TOKEN);
    expect(abandoned.status).toBe(201);
    const abandonedUrl = new URL(abandoned.headers.get("location")!, url).toString();
    await new Promise((r) => setTimeout(r, 4500));
    expect((await whip.delete(abandonedUrl, TOKEN)).status).toBe(404);
    expect(recbot.app.server.listening).toBe(true);
  });

  it("echoes each track back with ?mode=echo while recording it", async () => {
    const r = await publishWhip({ url: `${base}/whip?mode=echo`, clip, token: TOKEN, echo: true });
    expect(r.post.body).toMatch(/a=sendrecv/);
    const { recordings } = JSON.parse(r.del.body);
    await verify(path.join(dir, recordings[0].file), clip.seconds, r.framesSent.video, r.framesSent);
    expect(r.echo.video.frames / r.framesSent.video).toBeGreaterThanOrEqual(0.98);
    expect(r.echo.video.keyframes).toBeGreaterThanOrEqual(1);
    expect(r.echo.audio.packets / r.framesSent.audio).toBeGreaterThanOrEqual(0.98);
  });
});
