import { OpusPacketizer, Vp8Packetizer, type MediaStreamTrack } from "werift";
import type { Clip } from "./clip.ts";
import type { EncodedFrame } from "./containers.ts";

interface ScheduledFrame {
  /** Seconds from the start of one pass through the clip. */
  time: number;
  kind: "video" | "audio";
  frame: EncodedFrame;
  /** Index in clip.video / clip.audio. */
  index: number;
}

/** One frame as it left the sender: what an echo measurement (EchoMeter) matches the returned packets against. */
export interface SentFrame {
  kind: "video" | "audio";
  rtpTimestamp: number;
  /** performance.now() when its packets were written. */
  atMs: number;
  packets: number;
  bytes: number;
}

export interface SendStats {
  /** Frames sent per kind. */
  video: number;
  audio: number;
  /** Keyframe requests answered with an intra frame (Clip.intra). */
  keyframesOnRequest: number;
  /** Worst lateness of a frame against its wall-clock slot (ms): a busy sender shows up here, not as "loss". */
  maxLateMs: number;
  /** Audio packets not sent because they were DTX frames (see `dtx`). */
  suppressed: number;
}

export interface SendOptions {
  /** Asked before each video frame: when it says yes (a PLI arrived) and the clip has an intra copy, that frame goes out as a keyframe. */
  keyframeWanted?: () => boolean;
  /**
   * Send Opus DTX frames (≤ 3 bytes, what libopus emits in silence with `-dtx 1`) the way browsers do:
   * not at all, except one every 400 ms.
   */
  dtx?: boolean;
  /** Stops sending when aborted. */
  signal?: AbortSignal;
  /** Send audio only within [from, to) seconds (a microphone muted before and after). */
  audioWindow?: [number, number];
  /** Send no video within [from, to) seconds (a camera switched off mid-call while audio goes on). */
  videoPause?: [number, number];
  /** Called after each frame's packets are written. */
  onFrame?: (frame: SentFrame) => void;
}

/** The clip's frames of both kinds in time order; computed once per clip and shared by every sender. */
const schedules = new WeakMap<Clip, ScheduledFrame[]>();
function scheduleOf(clip: Clip): ScheduledFrame[] {
  let events = schedules.get(clip);
  if (!events) {
    // Only frames inside [0, clip.seconds): both kinds then loop with the same period and stay in sync.
    events = [
      ...clip.video.map((frame, index) => ({ time: frame.time, kind: "video" as const, frame, index })),
      ...clip.audio.map((frame, index) => ({ time: frame.time, kind: "audio" as const, frame, index })),
    ].filter((e) => e.time < clip.seconds)
    .sort((a, b) => a.time - b.time);
    schedules.set(clip, events);
  }
  return events;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `seconds` of the clip at its own pace (wall clock), packetized by werift, looping the clip
 * when `seconds` is longer than it (RTP timestamps keep increasing across loops; each loop starts
 * with the clip's first keyframe).
 */
export async function sendClip(
  clip: Clip, seconds: number, video: MediaStreamTrack, audio: MediaStreamTrack, options: SendOptions = {},
): Promise<SendStats> {
  const { keyframeWanted = () => false, dtx = false, signal, audioWindow, videoPause, onFrame } = options;
  const vp8 = new Vp8Packetizer({ payloadType: 96 });
  const opus = new OpusPacketizer({ payloadType: 111 });
  const videoBase = Math.floor(Math.random() * 2 ** 31);
  const audioBase = Math.floor(Math.random() * 2 ** 31);
  const events = scheduleOf(clip);
  const start = performance.now();
  const sent: SendStats = { video: 0, audio: 0, keyframesOnRequest: 0, maxLateMs: 0, suppressed: 0 };
  sending: for (let loop = 0; loop * clip.seconds < seconds; loop++) {
    const offset = loop * clip.seconds;
    for (const { time: clipTime, kind, frame, index } of events) {
      const time = offset + clipTime;
      if (time >= seconds) break;
      const wait = start + time * 1000 - performance.now();
      if (wait > 1) await sleep(wait);
      else if (-wait > sent.maxLateMs) sent.maxLateMs = -wait;
      if (signal?.aborted) break sending;
      let data = frame.data;
      let rtpTimestamp: number;
      let packets: number;
      if (kind === "video") {
        if (videoPause && time >= videoPause[0] && time < videoPause[1]) continue;
        if (keyframeWanted() && !frame.keyframe && clip.intra?.[index]) {
          data = clip.intra[index].data;
          sent.keyframesOnRequest++;
        }
        rtpTimestamp = (videoBase + Math.round(time * 90000)) >>> 0;
        const rtp = vp8.packetize(data, rtpTimestamp);
        for (const p of rtp) video.writeRtp(p);
        packets = rtp.length;
      } else {
        if (audioWindow && (time < audioWindow[0] || time >= audioWindow[1])) continue;
        // A DTX sender sends one comfort-noise frame every 400 ms of silence, and nothing else.
        if (dtx && data.length <= 3 && Math.round(time * 50) % 20 !== 0) {
          sent.suppressed++;
          continue;
        }
        rtpTimestamp = (audioBase + Math.round(time * 48000)) >>> 0;
        const rtp = opus.packetize(data, rtpTimestamp);
        for (const p of rtp) audio.writeRtp(p);
        packets = rtp.length;
      }
      sent[kind]++;
      onFrame?.({ kind, rtpTimestamp, atMs: performance.now(), packets, bytes: data.length });
    }
  }
  // Let the last packets leave before the caller hangs up.
  await sleep(100);
  return sent;
}
