import path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { Vp8Packetizer } from "werift";
import { makeClip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe } from "../../src/testkit/probe.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { connectRaw, rtp } from "../../src/testkit/rawPeer.ts";
import { serverPerTest } from "../helpers/testServer.ts";

/** Issue 16 item 4: video frames that never complete must not be held without bound. */

const { start, closeAfter } = serverPerTest("incomplete");

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
/** Memory still reachable (JS heap + Buffers) after full collections, in MB: what recbot holds, not garbage. */
function heldMb(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 1e6;
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);

describe("frames that never complete (issue 16 item 4)", () => {
  it("drops an endless VP8 frame (no marker, one timestamp), counts it, asks for a keyframe, and holds no more memory", async () => {
    const { ws, base, dir } = await start();
    const peer = closeAfter(await connectRaw(ws, [{ kind: "video", stream: "v" }]));

    // A real keyframe first, so the track is recording; then 9,000 packets of 8,000 bytes (72 MB), one timestamp, no marker.
    const clip = await makeClip({ seconds: 2 });
    const vp8 = new Vp8Packetizer({ payloadType: 96 });
    let seq = 1000;
    for (const p of vp8.packetize(clip.video[0].data, 90000)) await peer.send(0, rtp({ seq: seq++, ts: 90000, marker: p.header.marker, payload: p.payload }));
    await sleep(1000);
    const packetsBefore = metric(await (await fetch(`${base}/metrics`)).text(), "recbot_rtp_packets_received_total");
    const before = heldMb();
    const plisBefore = peer.tracks[0].plis;
    const body = Buffer.alloc(8000, 0x5a);
    const started = performance.now();
    for (let i = 0; i < 9000; i++) {
      body[0] = i === 0 ? 0x10 : 0x00; // VP8 payload descriptor: start of partition on the first packet only
      await peer.send(0, rtp({ seq: seq++, ts: 180000, marker: false, payload: body }));
      if (i % 10 === 9) await sleep(1); // paced, so recbot (in this process) receives them all
    }
    const sendSeconds = (performance.now() - started) / 1000;
    await sleep(500);
    const after = heldMb();
    const text = await (await fetch(`${base}/metrics`)).text();
    const received = metric(text, "recbot_rtp_packets_received_total") - packetsBefore;
    const figures = (
      `[endless frame] 9000 x 8000 B in ${sendSeconds.toFixed(1)} s, ${received} received: memory held ${before.toFixed(0)} → ${after.toFixed(0)} MB; ` +
        `frames dropped too large ${metric(text, 'recbot_frames_dropped_total{reason="too_large"}')}; PLIs ${peer.tracks[0].plis - plisBefore}`
    );
    expect(received, figures).toBeGreaterThan(8000);
    expect(after - before, figures).toBeLessThan(20);
    expect(metric(text, 'recbot_frames_dropped_total{reason="too_large"}'), figures).toBeGreaterThanOrEqual(1);
    expect(peer.tracks[0].plis - plisBefore, figures).toBeGreaterThanOrEqual(1);

    // The track recovers at the next keyframe and the file holds only whole frames.
    let ts = 270000;
    for (const f of clip.video) {
      for (const p of vp8.packetize(f.data, ts)) await peer.send(0, rtp({ seq: seq++, ts, marker: p.header.marker, payload: p.payload }));
      ts += 3000;
      await sleep(10);
    }
    const [finished] = await peer.hangUp();
    expect(finished?.state).toBe("finished");
    const file = path.join(dir, finished.file);
    const frames = Number((await probe(file)).streams[0].nb_read_frames ?? NaN);
    expect(await decodeErrors(file)).toBe("");
    expect(frames).toBe(clip.video.length + 1);
  });
});
