import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { connectRaw, offerFor, rtp, type RawPeer, type RawTrackSpec } from "../../src/testkit/rawPeer.ts";
import { whip } from "../../src/testkit/whipClient.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";
import { serverPerTest } from "../helpers/testServer.ts";

/** Issue 16 item 1: one client must not get more m-lines, tracks or ffmpeg processes than configured. */

const { start, closeAfter } = serverPerTest("mlimits");

/** ffmpeg processes started by this test process (recbot runs in it). */
function ffmpegChildren(): number {
  try {
    return execFileSync("ps", ["--ppid", String(process.pid), "-o", "comm="], { encoding: "utf8" }).split("\n").filter((c) => c.trim() === "ffmpeg").length;
  } catch {
    return 0; // ps exits 1 when there are no children
  }
}

const streamsOf = (n: number, kind: "audio" | "video" = "audio"): RawTrackSpec[] => Array.from({ length: n }, (_, i) => ({ kind, stream: `s${i}` }));

/** Tries to publish; returns recbot's error code, or the connected peer (kept for cleanup). */
async function tryConnect(ws: string, layout: RawTrackSpec[]): Promise<{ code?: string; peer?: RawPeer }> {
  try {
    const peer = closeAfter(await connectRaw(ws, layout));
    return { peer };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (!code) throw err;
    return { code };
  }
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);

describe("media limits per offer, per session and in total (issue 16 item 1)", () => {
  it("refuses one offer with 100 audio tracks in 100 MediaStreams at maxSessions=1: no ffmpeg process starts", async () => {
    const { base, ws } = await start({ maxSessions: 1 });
    const result = await tryConnect(ws, streamsOf(100));
    let answered = "";
    if (result.peer) {
      // Unfixed recbot answers: send one Opus packet per track, as the hostile client did, and count what starts.
      for (let i = 0; i < 100; i++) await result.peer.send(i, rtp({ seq: 1, ts: 960, marker: true, payload: Buffer.from([0xf8, 0xff, 0xfe]) }));
      await sleep(1500);
      answered = `answered; ${ffmpegChildren()} ffmpeg children 1.5 s later`;
    }
    expect(result.code, answered).toBe("too_many_media_sections");
    expect(ffmpegChildren()).toBe(0);
    await sleep(300); // the refused client has hung up: its socket's session closes
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(metric(text, 'recbot_offers_refused_total{limit="media_sections"}')).toBe(1);
    expect(metric(text, "recbot_sessions_active")).toBe(0);
  });

  it("refuses tracks and MediaStreams beyond the per-session limits with their own codes", async () => {
    const { ws } = await start({ maxMediaSections: 64, maxTracksPerSession: 8, maxStreamsPerSession: 4 });
    expect((await tryConnect(ws, streamsOf(5))).code).toBe("too_many_streams");
    expect((await tryConnect(ws, Array.from({ length: 9 }, () => ({ kind: "audio" as const, stream: "one" })))).code).toBe("too_many_tracks");
    // At the limits exactly: answered and connected.
    const ok = await tryConnect(ws, [...streamsOf(4), ...Array.from({ length: 4 }, () => ({ kind: "video" as const, stream: "s0" }))]);
    expect(ok.peer?.pc.connectionState).toBe("connected");
  });

  it("answers an offer with 300 m-lines with an error, on /ws and on WHIP (400), without parsing it", async () => {
    const { base, ws } = await start();
    const sdp = await offerFor(streamsOf(300));
    expect(sdp.match(/^m=/gm)).toHaveLength(300);
    const client = new WsClient(ws);
    await client.opened();
    client.send({ type: "offer", sdp });
    const reply = await client.waitFor((m) => m.type === "answer" || m.type === "error");
    client.close();
    expect(reply).toMatchObject({ type: "error", code: "too_many_media_sections" });
    expect(reply.message).toMatch(/300 .*16/);
    const post = await whip.post(`${base}/whip`, sdp);
    expect(post.status).toBe(400);
    expect(JSON.parse(post.body)).toMatchObject({ code: "too_many_media_sections" });
  });

  it.each([1, 2])("bounds MediaStreams (ffmpeg processes) over all sessions (workers: %i): WS error, WHIP 503, /metrics counts them, freed on close", async (workers) => {
    const { base, ws } = await start({ maxStreamsTotal: 3, maxSessions: 10, workers });
    const first = await tryConnect(ws, [...streamsOf(2), { kind: "video", stream: "s0" }]);
    expect(first.peer).toBeDefined();
    let text = await (await fetch(`${base}/metrics`)).text();
    expect(metric(text, "recbot_media_streams_active")).toBe(2);
    expect(metric(text, "recbot_media_tracks_active")).toBe(3);

    expect((await tryConnect(ws, streamsOf(2))).code).toBe("stream_limit_reached");
    const post = await whip.post(`${base}/whip`, await offerFor(streamsOf(2)));
    expect(post.status).toBe(503);
    expect(post.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(JSON.parse(post.body)).toMatchObject({ code: "stream_limit_reached" });
    text = await (await fetch(`${base}/metrics`)).text();
    expect(metric(text, 'recbot_offers_refused_total{limit="streams_total"}')).toBe(2);
    expect(metric(text, "recbot_media_streams_active")).toBe(2);

    // One more stream fits; after the first session ends, its two are free again.
    const one = await tryConnect(ws, streamsOf(1));
    expect(one.peer).toBeDefined();
    await first.peer!.hangUp();
    await first.peer!.client.closed();
    await sleep(200);
    text = await (await fetch(`${base}/metrics`)).text();
    expect(metric(text, "recbot_media_streams_active")).toBe(1);
    expect((await tryConnect(ws, streamsOf(2))).peer).toBeDefined();
  });
});
