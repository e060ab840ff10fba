/**
 * The hostile clients of issue 16, each bounded in time and volume, for the soak. Each returns a short
 * outcome (what recbot answered) for the report; none of them judges: the soak judges by what happens to the
 * legitimate publishers and to recbot's memory, fds and /healthz.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Vp8Packetizer } from "werift";
import WebSocket from "ws";
import { connectRaw, offerFor, prng, rtp, type RawTrackSpec } from "../../src/testkit/rawPeer.ts";
import type { Clip } from "../../src/testkit/clip.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";

export interface HostileContext {
  base: string;
  token: string;
  clip: Clip;
}

export type Outcome = Record<string, unknown>;

const wsUrl = (c: HostileContext) => `${c.base.replace("http", "ws")}/ws?access_token=${c.token}`;
const auth = (c: HostileContext) => ({ authorization: `Bearer ${c.token}` });

async function refusedOrConnected(c: HostileContext, layout: RawTrackSpec[], work?: (send: (t: number, p: ReturnType<typeof rtp>) => Promise<void>) => Promise<void>): Promise<Outcome> {
  try {
    const peer = await connectRaw(wsUrl(c), layout);
    try {
      await work?.(peer.send);
      const done = await peer.hangUp();
      return { answered: true, recordings: done.map((m) => ({ state: m.state, file: m.file })) };
    } finally {
      await peer.close();
    }
  } catch (err) {
    return { refused: (err as { code?: string }).code ?? String(err) };
  }
}

export const hostileClients: Record<string, (c: HostileContext) => Promise<Outcome>> = {
  /** 1: one offer with 100 audio tracks in 100 MediaStreams. */
  manyStreams: (c) => refusedOrConnected(c, Array.from({ length: 100 }, (_, i) => ({ kind: "audio" as const, stream: `s${i}` }))),

  /** 2: a socket that floods `{}` messages and never reads what recbot answers. */
  async wsFlood(c) {
    const socket = new WebSocket(wsUrl(c));
    await new Promise((resolve, reject) => (socket.once("open", resolve), socket.once("error", reject)));
    (socket as unknown as { _socket: { pause(): void } })._socket.pause(); // read nothing
    let closeCode: number | undefined;
    socket.on("close", (code) => (closeCode = code));
    const end = performance.now() + 4000;
    let sent = 0;
    while (performance.now() < end && closeCode === undefined && sent < 200_000) {
      if (socket.bufferedAmount < 1 << 20) {
        for (let i = 0; i < 500; i++) socket.send("{}");
        sent += 500;
      }
      await sleep(5);
    }
    socket.terminate();
    return { sent, closeCode };
  },

  /** 3: Opus packets whose timestamps jump ~600 s each. */
  tsJumps: (c) =>
    refusedOrConnected(c, [{ kind: "audio", stream: "a" }], async (send) => {
      let ts = 1;
      for (let i = 0; i < 300; i++) {
        await send(0, rtp({ seq: i, ts, marker: i === 0, payload: c.clip.audio[i % c.clip.audio.length].data }));
        ts = (ts + 48000 * 599) >>> 0;
        if (i % 30 === 29) await sleep(20);
      }
    }),

  /** 4: VP8 packets of one frame that never ends (no marker, one timestamp), ~3000 per second for 2 s. */
  endlessFrame: (c) =>
    refusedOrConnected(c, [{ kind: "video", stream: "v" }], async (send) => {
      const body = Buffer.alloc(1100, 0x5a);
      for (let i = 0; i < 6000; i++) {
        body[0] = i === 0 ? 0x10 : 0;
        await send(0, rtp({ seq: i, ts: 9000, payload: body }));
        if (i % 30 === 29) await sleep(10);
      }
    }),

  /** 5: a burst of concurrent WHIP POSTs (beyond maxSessions), each deleted at once. */
  async whipBurst(c) {
    const sdp = await offerFor([{ kind: "video", stream: "w" }, { kind: "audio", stream: "w" }]);
    const replies = await Promise.all(Array.from({ length: 70 }, () =>
      fetch(`${c.base}/whip`, { method: "POST", body: sdp, headers: { "content-type": "application/sdp", ...auth(c) } }).then(async (r) => ({ status: r.status, location: r.headers.get("location") }), () => ({ status: 0, location: null }))));
    await Promise.all(replies.filter((r) => r.location).map((r) => fetch(new URL(r.location!, c.base), { method: "DELETE", headers: auth(c) }).catch(() => {})));
    const statuses: Record<number, number> = {};
    for (const r of replies) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    return { statuses };
  },

  /** 6: 5000 trickled candidates after an offer on /ws, and one WHIP PATCH with 3000. */
  async candidateFlood(c) {
    const sdp = await offerFor([{ kind: "audio", stream: "c" }]);
    const client = new WsClient(wsUrl(c));
    await client.opened();
    client.send({ type: "offer", sdp });
    await client.waitFor((m) => m.type === "answer" || m.type === "error").catch(() => undefined);
    for (let i = 0; i < 5000 && client.socket.readyState === client.socket.OPEN; i++) {
      client.send({ type: "candidate", candidate: { candidate: `candidate:${i} 1 udp 2130706431 127.0.0.1 ${10000 + (i % 50000)} typ host`, sdpMid: "0", sdpMLineIndex: 0 } });
      if (i % 500 === 499) await sleep(10);
    }
    await sleep(500);
    const wsErrors = new Set(client.messages.filter((m) => m.type === "error").map((m) => m.code));
    client.close();
    const post = await fetch(`${c.base}/whip`, { method: "POST", body: sdp, headers: { "content-type": "application/sdp", ...auth(c) } });
    let patch = 0;
    const location = post.headers.get("location");
    if (location) {
      const ufrag = /a=ice-ufrag:(\S+)/.exec(sdp)?.[1];
      const pwd = /a=ice-pwd:(\S+)/.exec(sdp)?.[1];
      const lines = [`a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, "m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=mid:0"];
      for (let i = 0; i < 3000; i++) lines.push(`a=candidate:${i} 1 udp 2130706431 127.0.0.1 ${10000 + i} typ host`);
      const res = await fetch(new URL(location, c.base), { method: "PATCH", body: lines.join("\r\n") + "\r\n", headers: { "content-type": "application/trickle-ice-sdpfrag", ...auth(c) } });
      patch = res.status;
      await fetch(new URL(location, c.base), { method: "DELETE", headers: auth(c) });
    }
    return { wsErrors: [...wsErrors], whipPost: post.status, whipPatch: patch };
  },

  /** 8, 9, 10, 12: tokens in URLs, WHIP headers to a foreign origin, a 100 KB stream id with NUL/bidi, `bearer`, multi-range. */
  async httpProbes(c) {
    const listing = await fetch(`${c.base}/recordings?limit=1&access_token=${c.token}`);
    const items = listing.ok ? ((await listing.json()) as { items: { id: string }[] }).items : [];
    const bearer = await fetch(`${c.base}/recordings?limit=1`, { headers: { authorization: `bearer ${c.token}` } });
    const noAuth = await fetch(`${c.base}/whip`, { method: "POST", body: "v=0", headers: { "content-type": "application/sdp", origin: "http://evil.example" } });
    let range = 0;
    if (items[0]) range = (await fetch(`${c.base}/recordings/${items[0].id}/file`, { headers: { ...auth(c), range: "bytes=0-10,20-30" } })).status;
    const sdp = (await offerFor([{ kind: "audio", stream: "x" }])).replace(/a=msid:x /, `a=msid:${"\u202e\u0000".repeat(5) + "x".repeat(100_000)} `);
    const client = new WsClient(wsUrl(c));
    await client.opened();
    client.send({ type: "offer", sdp });
    const reply = await client.waitFor((m) => m.type === "answer" || m.type === "error").catch(() => ({ type: "timeout" }));
    client.close();
    return {
      listing: listing.status, lowercaseBearer: bearer.status, unauthWhip: noAuth.status,
      unauthWhipAllowOrigin: noAuth.headers.get("access-control-allow-origin"), multiRange: range, longStreamId: reply.type === "error" ? reply.code : reply.type,
    };
  },

  /** 13: random "keyframes", backwards timestamps and 30000-packet sequence jumps on a VP8 track. */
  garbage: (c) =>
    refusedOrConnected(c, [{ kind: "video", stream: "g" }], async (send) => {
      const random = prng(Math.floor(Math.random() * 2 ** 31));
      const vp8 = new Vp8Packetizer({ payloadType: 96 });
      let seq = 0;
      for (let i = 0; i < 90; i++) {
        const ts = 90000 + i * 3000;
        if (i % 3 === 0) {
          const b = random(900);
          b[0] = 0x10;
          b[1] &= 0xfe;
          b.set([0x9d, 0x01, 0x2a], 4);
          await send(0, rtp({ seq: seq++, ts, marker: true, payload: b }));
        } else {
          const frame = c.clip.video[i % c.clip.video.length].data;
          const back = i % 3 === 2 ? ts - 60000 : ts;
          for (const p of vp8.packetize(frame, back)) await send(0, rtp({ seq: seq++, ts: back, marker: p.header.marker, payload: p.payload }));
        }
        if (i % 30 === 29) seq += 30000;
        await sleep(30);
      }
    }),
};
