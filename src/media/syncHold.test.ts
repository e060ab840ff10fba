import { describe, expect, it } from "vitest";
import { unixMicrosToNtp } from "./clock.ts";
import { SyncHold, type SyncDecision } from "./syncHold.ts";
import type { Frame } from "./types.ts";

/**
 * A simulated sender: audio (48 kHz, 20 ms frames) and video (90 kHz, 30 fps) captured on one clock, whose RTP
 * timestamps start at random bases; frames and RTCP sender reports reach the hold after a delay of the scenario's
 * choosing. Local time is the sender's time + 3 s (clocks are never the same), in µs.
 */
const WALL0 = 1_700_000_000_000_000;
const LOCAL_SKEW = 3_000_000;
const AUDIO0 = 4_294_000_000; // wraps after 20 s
const VIDEO0 = 123_456;
const AUDIO = 0;
const VIDEO = 1;

interface Scenario {
  name: string;
  seconds?: number;
  /** Arrival delay (ms) of a frame captured at `t` s. */
  audioDelayMs?: (t: number) => number;
  videoDelayMs?: (t: number) => number;
  /** Sender reports: track, capture time of the reported RTP time (s), NTP error (s), delay (ms). */
  reports?: { track: 0 | 1; at: number; ntpError?: number; delayMs?: number }[];
  waitMs?: number;
  expected: { decision: SyncDecision["tracks"]; heldMs?: [number, number]; avOffsetMs: [number, number] };
}

/** werift 0.25.2's NTP fraction bug as read per RFC 3550: the time's fraction of a second is lost. */
const werift = (at: number) => -(at % 1); // WALL0 is a whole second

const scenarios: Scenario[] = [
  {
    name: "correct SRs, video 150 ms behind audio on the wire: placed by SRs, in sync",
    videoDelayMs: () => 150,
    reports: [{ track: 0, at: 0.2 }, { track: 1, at: 0.3 }, { track: 0, at: 1.1 }, { track: 1, at: 1.2 }],
    expected: { decision: ["sr", "sr"], heldMs: [1100, 1400], avOffsetMs: [-0.1, 0.1] },
  },
  {
    name: "correct SRs, the first 800 ms of video arrive late in a burst (event-loop lag): placed by SRs, in sync",
    videoDelayMs: (t) => Math.max(5, 800 - t * 1000),
    reports: [{ track: 0, at: 0.2 }, { track: 1, at: 0.3 }, { track: 0, at: 1.1 }, { track: 1, at: 1.2 }],
    expected: { decision: ["sr", "sr"], avOffsetMs: [-0.1, 0.1] },
  },
  {
    name: "one SR per track that agree (a browser's audio SRs are seconds apart): placed by SRs before the wait ends",
    videoDelayMs: () => 40,
    reports: [{ track: 0, at: 0.5 }, { track: 1, at: 0.4 }],
    expected: { decision: ["sr", "sr"], heldMs: [400, 700], avOffsetMs: [-0.1, 0.1] },
  },
  {
    name: "a browser: video SRs every second, audio's first after 2.4 s: the hold waits for it (one track's SRs agree)",
    videoDelayMs: () => 25,
    reports: [{ track: 1, at: 0.5 }, { track: 1, at: 1.5 }, { track: 0, at: 2.4 }, { track: 1, at: 2.5 }],
    expected: { decision: ["sr", "sr"], heldMs: [2350, 2450], avOffsetMs: [-0.1, 0.1] },
  },
  {
    name: "video's SRs agree, audio sends none: audio by arrival after the whole wait",
    videoDelayMs: () => 25,
    reports: [{ track: 1, at: 0.5 }, { track: 1, at: 1.5 }, { track: 1, at: 2.5 }, { track: 1, at: 3.5 }],
    expected: { decision: ["arrival", "sr"], heldMs: [3000, 3040], avOffsetMs: [14, 16] },
  },
  {
    name: "no SRs, first frames late: after the wait each track is anchored by its least-delayed frame",
    audioDelayMs: (t) => Math.max(10, 300 - t * 1000),
    videoDelayMs: (t) => Math.max(10, 600 - t * 1000),
    expected: { decision: ["arrival", "arrival"], heldMs: [2000, 2040], avOffsetMs: [-1, 1] },
  },
  {
    name: "werift's broken SRs (0–1 s off): not trusted, arrival anchoring",
    videoDelayMs: () => 30,
    reports: [0.31, 0.62, 1.13, 1.45, 1.94].map((at, i) => ({ track: (i % 2) as 0 | 1, at, ntpError: werift(at) })),
    expected: { decision: ["arrival", "arrival"], heldMs: [2000, 2040], avOffsetMs: [19, 21] },
  },
  {
    name: "wait 0: placed at once by arrival",
    waitMs: 0,
    videoDelayMs: () => 20,
    expected: { decision: ["arrival", "none"], heldMs: [0, 0], avOffsetMs: [9, 11] },
  },
];

interface Run {
  out: Frame[][];
  decision: SyncDecision | undefined;
  /** Capture time (s) of each output frame, per track. */
  capture: number[][];
}

function simulate(s: Scenario): Run {
  const seconds = s.seconds ?? 6;
  const out: Frame[][] = [[], []];
  const capture: number[][] = [[], []];
  const hold = new SyncHold({ clockRates: [48000, 90000], waitMs: s.waitMs ?? 3000, out: (track, frame) => out[track].push(frame) });
  type Event = { at: number; run: () => void };
  const events: Event[] = [];
  const local = (t: number) => WALL0 + LOCAL_SKEW + t * 1e6;
  // The pipeline gives a track's frames in order: a late frame holds back the ones behind it (a burst).
  const lastAt = [0, 0];
  const frame = (track: number, t: number, delayMs: number) => {
    const rate = track === AUDIO ? 48000 : 90000;
    const ts = ((track === AUDIO ? AUDIO0 : VIDEO0) + Math.round(t * rate)) >>> 0;
    const at = (lastAt[track] = Math.max(lastAt[track], t + delayMs / 1000));
    events.push({
      at,
      run: () => {
        capture[track].push(t);
        hold.frame(track, { kind: track === AUDIO ? "audio" : "video", codec: track === AUDIO ? "opus" : "vp8", keyframe: true, data: Buffer.alloc(1), rtpTimestamp: ts, arrivalMicros: local(at) });
      },
    });
  };
  for (let i = 0; i < seconds * 50; i++) frame(AUDIO, i / 50, s.audioDelayMs?.(i / 50) ?? 10);
  // With no wait, video sends one frame, after the decision: a track that starts late.
  for (let i = 0; i < seconds * 30; i++) if (s.waitMs !== 0 || i === 0) frame(VIDEO, i / 30, s.videoDelayMs?.(i / 30) ?? 10);
  for (const r of s.reports ?? []) {
    const rate = r.track === AUDIO ? 48000 : 90000;
    const at = r.at + (r.delayMs ?? 5) / 1000;
    const ntp = unixMicrosToNtp(WALL0 + (r.at + (r.ntpError ?? 0)) * 1e6);
    events.push({ at, run: () => hold.senderReport(r.track, ntp, ((r.track === AUDIO ? AUDIO0 : VIDEO0) + Math.round(r.at * rate)) >>> 0, local(at)) });
  }
  for (let t = 0; t < seconds + 1; t += 0.02) events.push({ at: t, run: () => hold.poll(local(t)) });
  events.sort((a, b) => a.at - b.at).forEach((e) => e.run());
  hold.flush(local(seconds + 1));
  return { out, decision: hold.decision, capture };
}

describe("SyncHold: a stream's timing is decided once, then every interval is the RTP delta", () => {
  it.each(scenarios)("$name", (s) => {
    const { out, decision, capture } = simulate(s);
    expect(decision?.tracks).toEqual(s.expected.decision);
    if (s.expected.heldMs) {
      const heldMs = decision!.heldMicros / 1000;
      expect(heldMs).toBeGreaterThanOrEqual(s.expected.heldMs[0]);
      expect(heldMs).toBeLessThanOrEqual(s.expected.heldMs[1]);
    }
    // Every frame came out, in capture order, each interval exactly the capture (RTP) interval.
    for (const track of [AUDIO, VIDEO]) {
      const frames = out[track];
      expect(frames).toHaveLength(capture[track].length);
      for (let i = 1; i < frames.length; i++) {
        const sent = (capture[track][i] - capture[track][i - 1]) * 1e6;
        expect(Math.abs(frames[i].ptsMicros - frames[i - 1].ptsMicros - sent)).toBeLessThan(15); // RTP rounding: < 1 tick
      }
    }
    // A/V offset: video's time minus audio's time for the same capture instant (t = 0, both have a frame there).
    const av = (out[VIDEO][0].ptsMicros - out[AUDIO][0].ptsMicros) / 1000;
    expect(av).toBeGreaterThanOrEqual(s.expected.avOffsetMs[0]);
    expect(av).toBeLessThanOrEqual(s.expected.avOffsetMs[1]);
  });

  it("places a track that starts after the decision by its trusted SRs and the stream's offset", () => {
    const out: Frame[][] = [[], []];
    const hold = new SyncHold({ clockRates: [48000, 90000], waitMs: 500, out: (track, frame) => out[track].push(frame) });
    const local = (t: number) => WALL0 + LOCAL_SKEW + t * 1e6;
    const audio = (t: number) => ({ kind: "audio" as const, codec: "opus" as const, keyframe: true, data: Buffer.alloc(1), rtpTimestamp: (AUDIO0 + Math.round(t * 48000)) >>> 0, arrivalMicros: local(t + 0.01) });
    for (const at of [0.1, 0.3]) hold.senderReport(AUDIO, unixMicrosToNtp(WALL0 + at * 1e6), (AUDIO0 + Math.round(at * 48000)) >>> 0, local(at));
    hold.senderReport(AUDIO, unixMicrosToNtp(WALL0 + 0.5 * 1e6), (AUDIO0 + 0.5 * 48000) >>> 0, local(0.5));
    for (let i = 0; i < 50; i++) hold.frame(AUDIO, audio(i / 50));
    expect(hold.decision?.tracks).toEqual(["sr", "none"]); // video sent nothing within the wait
    for (const at of [1, 2]) hold.senderReport(VIDEO, unixMicrosToNtp(WALL0 + at * 1e6), (VIDEO0 + at * 90000) >>> 0, local(at));
    // Video's first frame, captured at 3 s, arrives 400 ms late: it is placed at its capture time all the same.
    hold.frame(VIDEO, { kind: "video", codec: "vp8", keyframe: true, data: Buffer.alloc(1), rtpTimestamp: (VIDEO0 + 3 * 90000) >>> 0, arrivalMicros: local(3.4) });
    hold.frame(AUDIO, audio(3));
    expect((out[VIDEO][0].ptsMicros - out[AUDIO].at(-1)!.ptsMicros) / 1000).toBeCloseTo(0, 1);
  });

  it("holds nothing back for ever: a stream that stops is released by poll, and flush releases what is left", () => {
    const out: Frame[] = [];
    const hold = new SyncHold({ clockRates: [48000], waitMs: 1000, out: (_t, f) => out.push(f) });
    hold.frame(0, { kind: "audio", codec: "opus", keyframe: true, data: Buffer.alloc(1), rtpTimestamp: 0, arrivalMicros: 1_000_000 });
    hold.poll(1_900_000);
    expect(out).toHaveLength(0);
    hold.poll(2_000_000);
    expect(out).toHaveLength(1);
    const second = new SyncHold({ clockRates: [48000], waitMs: 1000, out: (_t, f) => out.push(f) });
    second.frame(0, { kind: "audio", codec: "opus", keyframe: true, data: Buffer.alloc(1), rtpTimestamp: 0, arrivalMicros: 1_000_000 });
    second.flush(1_100_000);
    expect(out).toHaveLength(2);
  });
});
