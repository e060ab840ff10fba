import { OpusPacketizer, Vp8Packetizer, type MediaStreamTrack } from "werift";
import type { Clip } from "./testSignal.ts";

export interface SentFrame {
  kind: "video" | "audio";
  rtpTimestamp: number;
  /** performance.now() when its packets were written. */
  atMs: number;
  packets: number;
  bytes: number;
}

export interface PaceOptions {
  /** Called after each frame's packets are written (for measurements). */
  onFrame?: (frame: SentFrame) => void;
  /** Stop early when this resolves true (checked per frame). */
  shouldStop?: () => boolean;
}

/** Sends the clip's frames at their own pace (wall clock), packetized by werift; returns frames sent per kind. */
export async function sendClip(clip: Clip, seconds: number, video: MediaStreamTrack, audio: MediaStreamTrack, options: PaceOptions = {}) {
  const vp8 = new Vp8Packetizer({ payloadType: 96 });
  const opus = new OpusPacketizer({ payloadType: 111 });
  const videoBase = Math.floor(Math.random() * 2 ** 31);
  const audioBase = Math.floor(Math.random() * 2 ** 31);
  // Longer runs than the clip loop it; timestamps keep growing.
  const loops = Math.ceil(seconds / clip.seconds);
  const events: { time: number; data: Buffer; kind: "video" | "audio" }[] = [];
  for (let l = 0; l < loops; l++) {
    for (const f of clip.video) events.push({ time: f.time + l * clip.seconds, data: f.data, kind: "video" });
    for (const f of clip.audio) if (f.time < clip.seconds) events.push({ time: f.time + l * clip.seconds, data: f.data, kind: "audio" });
  }
  const due = events.filter((e) => e.time < seconds).sort((a, b) => a.time - b.time);
  const start = performance.now();
  const sent = { video: 0, audio: 0 };
  for (const e of due) {
    if (options.shouldStop?.()) break;
    const wait = start + e.time * 1000 - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const video90k = (videoBase + Math.round(e.time * 90000)) >>> 0;
    const audio48k = (audioBase + Math.round(e.time * 48000)) >>> 0;
    const packets = e.kind === "video" ? vp8.packetize(e.data, video90k) : opus.packetize(e.data, audio48k);
    const track = e.kind === "video" ? video : audio;
    for (const p of packets) track.writeRtp(p);
    sent[e.kind]++;
    options.onFrame?.({
      kind: e.kind, rtpTimestamp: e.kind === "video" ? video90k : audio48k, atMs: performance.now(),
      packets: packets.length, bytes: e.data.length,
    });
  }
  // Let the last packets leave before the caller hangs up.
  await new Promise((r) => setTimeout(r, 100));
  return sent;
}
