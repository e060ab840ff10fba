import type { SentFrame } from "./pacer.ts";

type Kind = "video" | "audio";

export interface KindMetrics {
  framesSent: number;
  framesReturned: number;
  packetsSent: number;
  packetsReturned: number;
  /** Packets sent but never returned, in percent. */
  lossPct: number;
  /** RFC 3550 interarrival jitter of the returned stream, at the end, in ms. */
  jitterMs: number;
  /** Time from sending a frame to getting it back complete, in ms. */
  rttMs: { median: number; p95: number; max: number };
  /** Returned packets whose RTP timestamp matches no sent frame (should be 0). */
  unmatched: number;
}

export interface EchoMetrics {
  seconds: number;
  video: KindMetrics;
  audio: KindMetrics;
  /** Median video round trip minus median audio round trip: how far the echoed picture lags its sound. */
  avOffsetMs: number;
  freezes: { count: number; totalMs: number; longestMs: number };
}

/** One row per second of the run (by the time the media was sent). */
export interface SeriesPoint {
  t: number;
  kbpsReturned: number;
  rttMs: number;
  lossPct: number;
  jitterMs: number;
}

const CLOCK: Record<Kind, number> = { video: 90000, audio: 48000 };

interface KindState {
  sentAt: Map<number, { atMs: number; packets: number; returnedPackets: number; done: boolean }>;
  framesSent: number;
  packetsSent: number;
  framesReturned: number;
  packetsReturned: number;
  unmatched: number;
  rtts: number[];
  jitter: number;
  lastTransit: number | undefined;
}

const newState = (): KindState => ({
  sentAt: new Map(), framesSent: 0, packetsSent: 0, framesReturned: 0, packetsReturned: 0, unmatched: 0, rtts: [], jitter: 0, lastTransit: undefined,
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Measures the echo: frames are matched by RTP timestamp (recbot's echo keeps the publisher's
 * timestamps), so every returned frame has a round-trip time. Pure: the caller passes clock readings.
 */
export class EchoMeter {
  private readonly kinds: Record<Kind, KindState> = { video: newState(), audio: newState() };
  private startMs: number;
  private readonly frameIntervalMs: number;
  private lastVideoFrameAt: { atMs: number; sentMs: number } | undefined;
  private readonly freezes: number[] = [];
  private readonly buckets: { bytes: number; rtts: number[]; sent: number; returned: number; jitter: number }[] = [];
  private endMs = 0;

  constructor(startMs: number, fps: number) {
    this.startMs = startMs;
    this.frameIntervalMs = 1000 / fps;
  }

  /** Marks the start of sending: the per-second series counts from here. */
  begin(startMs: number): void {
    this.startMs = startMs;
  }

  private bucket(atMs: number) {
    const i = Math.max(0, Math.floor((atMs - this.startMs) / 1000));
    while (this.buckets.length <= i) this.buckets.push({ bytes: 0, rtts: [], sent: 0, returned: 0, jitter: NaN });
    return this.buckets[i];
  }

  sent(frame: SentFrame): void {
    const s = this.kinds[frame.kind];
    s.framesSent++;
    s.packetsSent += frame.packets;
    s.sentAt.set(frame.rtpTimestamp, { atMs: frame.atMs, packets: frame.packets, returnedPackets: 0, done: false });
    this.bucket(frame.atMs).sent++;
  }

  /** One returned RTP packet. `marker` ends a video frame; every audio packet is a frame. */
  received(kind: Kind, rtpTimestamp: number, marker: boolean, payloadBytes: number, atMs: number): void {
    const s = this.kinds[kind];
    this.endMs = Math.max(this.endMs, atMs);
    s.packetsReturned++;
    const transit = (atMs / 1000) * CLOCK[kind] - rtpTimestamp;
    if (s.lastTransit !== undefined) {
      let d = Math.abs(transit - s.lastTransit);
      if (d > 2 ** 31) d = 2 ** 32 - d; // timestamp wrap
      s.jitter += (d - s.jitter) / 16;
    }
    s.lastTransit = transit;
    const frame = s.sentAt.get(rtpTimestamp);
    if (!frame) {
      s.unmatched++;
      return;
    }
    const b = this.bucket(frame.atMs);
    b.bytes += payloadBytes;
    frame.returnedPackets++;
    if (kind === "video") b.jitter = (s.jitter / CLOCK.video) * 1000;
    const complete = kind === "audio" || marker;
    if (!complete || frame.done) return;
    frame.done = true;
    s.framesReturned++;
    const rtt = atMs - frame.atMs;
    s.rtts.push(rtt);
    b.rtts.push(rtt);
    b.returned++;
    if (kind === "video") {
      if (this.lastVideoFrameAt !== undefined) {
        const gap = atMs - this.lastVideoFrameAt.atMs;
        // WebRTC's freeze rule (a frame gap above max(3 × frame interval, interval + 150 ms)), applied
        // to what the round trip added: a pause of the sender itself is not the echo's freeze.
        const added = gap - (frame.atMs - this.lastVideoFrameAt.sentMs);
        if (gap > Math.max(3 * this.frameIntervalMs, this.frameIntervalMs + 150) && added > 150) this.freezes.push(gap);
      }
      this.lastVideoFrameAt = { atMs, sentMs: frame.atMs };
    }
  }

  private kindMetrics(kind: Kind): KindMetrics {
    const s = this.kinds[kind];
    const sorted = [...s.rtts].sort((a, b) => a - b);
    return {
      framesSent: s.framesSent,
      framesReturned: s.framesReturned,
      packetsSent: s.packetsSent,
      packetsReturned: s.packetsReturned - s.unmatched,
      lossPct: s.packetsSent ? (100 * Math.max(0, s.packetsSent - (s.packetsReturned - s.unmatched))) / s.packetsSent : 0,
      jitterMs: (s.jitter / CLOCK[kind]) * 1000,
      rttMs: { median: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: sorted.at(-1) ?? NaN },
      unmatched: s.unmatched,
    };
  }

  metrics(): EchoMetrics {
    const video = this.kindMetrics("video");
    const audio = this.kindMetrics("audio");
    return {
      seconds: (this.endMs - this.startMs) / 1000,
      video,
      audio,
      avOffsetMs: video.rttMs.median - audio.rttMs.median,
      freezes: { count: this.freezes.length, totalMs: this.freezes.reduce((a, b) => a + b, 0), longestMs: Math.max(0, ...this.freezes) },
    };
  }

  series(): SeriesPoint[] {
    return this.buckets.map((b, t) => {
      const rtts = [...b.rtts].sort((x, y) => x - y);
      return {
        t,
        kbpsReturned: (b.bytes * 8) / 1000,
        rttMs: percentile(rtts, 0.5),
        lossPct: b.sent ? (100 * (b.sent - b.returned)) / b.sent : 0,
        jitterMs: b.jitter,
      };
    });
  }
}
