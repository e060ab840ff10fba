import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { OpusPacketizer, Vp8Packetizer } from "werift";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe } from "../../src/testkit/probe.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { connectRaw, prng, rtp } from "../../src/testkit/rawPeer.ts";
import { serverPerTest } from "../helpers/testServer.ts";

/** Issue 16 item 13: garbage that looks like media must not reach the files. */

const { start, closeAfter } = serverPerTest("garbage");
let clip: Clip;
beforeAll(async () => {
  clip = await makeClip({ seconds: 4 });
});

const metric = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? 0);

/** `ffmpeg -v error -i file -f null -` as the issue ran it (plain, no passthrough options). */
async function plainDecodeErrors(file: string): Promise<string> {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve) => execFile("ffmpeg", ["-nostdin", "-v", "error", "-i", file, "-f", "null", "-"], (_e, out, err) => resolve(`${out}${err}`.trim())));
}

describe("garbage that looks like media (issue 16 item 13)", () => {
  it("keeps random 'keyframes', 30000-packet sequence jumps and backwards timestamps out of the file, and counts them", async () => {
    const { ws, base, dir } = await start();
    const peer = closeAfter(await connectRaw(ws, [{ kind: "video", stream: "av" }, { kind: "audio", stream: "av" }]));
    const random = prng(1616);
    const vp8 = new Vp8Packetizer({ payloadType: 96 });
    const opus = new OpusPacketizer({ payloadType: 111 });
    let vseq = 1;
    let aseq = 1;
    const hostile = { keyframes: 0, jumps: 0, backwards: 0, backwardsWhileWaiting: 0 };
    /** After each sequence jump the track waits for the next real keyframe (frame 60; none after 95): frames in between are dropped as incomplete. */
    const waitingForKeyframe = (i: number) => (i > 45 && i < 60) || i > 95;
    /** Random bytes that start like a VP8 keyframe: descriptor S bit, key-frame bit 0, start code 9d 01 2a. */
    const fakeKeyframe = () => {
      const b = random(900);
      b[0] = 0x10;
      b[1] &= 0xfe;
      b.set([0x9d, 0x01, 0x2a], 4);
      return b;
    };
    const t0 = performance.now();
    const events = [
      ...clip.video.map((f, i) => ({ t: f.time, video: true, i })),
      ...clip.audio.map((f, i) => ({ t: f.time, video: false, i })),
    ].sort((a, b) => a.t - b.t);
    for (const e of events) {
      const wait = t0 + e.t * 1000 - performance.now();
      if (wait > 1) await sleep(wait);
      const vts = 90000 + Math.round(e.t * 90000);
      if (!e.video) {
        for (const p of opus.packetize(clip.audio[e.i].data, 4800 + Math.round(e.t * 48000))) await peer.send(1, rtp({ seq: aseq++, ts: p.header.timestamp, marker: p.header.marker, payload: p.payload }));
        // Audio with a timestamp 1 s in the past, every 25th packet.
        if (e.i % 25 === 24) {
          await peer.send(1, rtp({ seq: aseq++, ts: 4800 + Math.round((e.t - 1) * 48000), payload: clip.audio[e.i].data }));
          hostile.backwards++;
        }
        continue;
      }
      for (const p of vp8.packetize(clip.video[e.i].data, vts)) await peer.send(0, rtp({ seq: vseq++, ts: vts, marker: p.header.marker, payload: p.payload }));
      if (e.i % 10 === 5) {
        // A one-packet "keyframe" of random bytes between two real frames, in sequence.
        await peer.send(0, rtp({ seq: vseq++, ts: vts + 1500, marker: true, payload: fakeKeyframe() }));
        hostile.keyframes++;
      }
      if (e.i % 10 === 7) {
        // A real-looking frame (a copy of the previous one) with a timestamp 200 ms in the past, in sequence.
        for (const p of vp8.packetize(clip.video[e.i].data, vts - 18000)) await peer.send(0, rtp({ seq: vseq++, ts: vts - 18000, marker: p.header.marker, payload: p.payload }));
        hostile.backwards++;
        if (waitingForKeyframe(e.i)) hostile.backwardsWhileWaiting++;
      }
      if (e.i === 45 || e.i === 95) {
        // The sequence numbers jump by 30000 and a random "keyframe" comes right after the jump.
        vseq += 30000;
        await peer.send(0, rtp({ seq: vseq++, ts: vts + 1000, marker: true, payload: fakeKeyframe() }));
        hostile.jumps++;
      }
    }
    const [finished] = await peer.hangUp();
    expect(finished?.state).toBe("finished");
    const file = path.join(dir, finished.file);
    const errors = await decodeErrors(file);
    const plain = await plainDecodeErrors(file);
    const p = await probe(file);
    const sidecar = JSON.parse(readFileSync(file.replace(/\.webm$/, ".json"), "utf8"));
    const text = await (await fetch(`${base}/metrics`)).text();
    const dropped = (reason: string) => metric(text, `recbot_frames_dropped_total{reason="${reason}"}`);
    const figures = (
      `[garbage] sent ${clip.video.length} real video frames + ${hostile.keyframes} fake keyframes, ${hostile.jumps} seq jumps, ${hostile.backwards} backwards frames; ` +
        `file: video ${p.streams[0].nb_read_frames} frames, audio ${p.streams[1]?.nb_read_frames}; dropped invalid ${dropped("invalid")}, backwards ${dropped("backwards")}; ` +
        `decode errors: ${JSON.stringify((errors || plain).slice(0, 300))}`
    );
    expect(errors, figures).toBe("");
    // Without passthrough, ffmpeg re-times variable-rate video into 1/fps ticks and reports its own rounding
    // collisions as "non monotonically increasing dts" (see src/loopback/probe.ts): every other line is an error.
    expect(plain.split("\n").filter((l) => l && !/non monotonically increasing dts/.test(l))).toEqual([]);
    expect(dropped("invalid"), figures).toBeGreaterThanOrEqual(hostile.keyframes);
    expect(dropped("backwards"), figures).toBe(hostile.backwards - hostile.backwardsWhileWaiting);
    expect(sidecar.trackStats[0].framesInvalid, figures).toBeGreaterThanOrEqual(hostile.keyframes);
    const realFrames = clip.video.filter((_f, i) => !waitingForKeyframe(i)).length;
    // Every real frame is there, except those lost to the two sequence jumps (until the next keyframe).
    expect(Number(p.streams[0].nb_read_frames), figures).toBe(realFrames);
  });
});
