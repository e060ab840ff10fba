import { describe, expect, it } from "vitest";
import { StreamClock, ntpToUnixMicros, unixMicrosToNtp } from "./clock.ts";

const NTP_1970 = 2_208_988_800n;

describe("NTP timestamps (RFC 3550 §4)", () => {
  it.each([
    { name: "the Unix epoch", ntp: NTP_1970 << 32n, micros: 0 },
    { name: "half a second (fraction 2^31)", ntp: (NTP_1970 << 32n) | 0x80000000n, micros: 500_000 },
    { name: "x.0345 s, which werift would misread as x.345", ntp: ((NTP_1970 + 10n) << 32n) | BigInt(Math.round(0.0345 * 2 ** 32)), micros: 10_034_500 },
  ])("reads $name", ({ ntp, micros }) => {
    expect(ntpToUnixMicros(ntp)).toBeCloseTo(micros, 0);
  });

  it("round-trips a current time to within a microsecond", () => {
    const now = Date.now() * 1000 + 123.25;
    expect(Math.abs(ntpToUnixMicros(unixMicrosToNtp(now)) - now)).toBeLessThan(1);
  });
});

/** A sender whose audio (48 kHz) and video (90 kHz) clocks start at random offsets, both locked to its wall clock. */
const sender = { wall0: 1_700_000_000_000_000, audio0: 4_294_000_000, video0: 123_456 };
const audioTs = (s: number) => (sender.audio0 + Math.round(s * 48000)) >>> 0;
const videoTs = (s: number) => (sender.video0 + Math.round(s * 90000)) >>> 0;
const senderNtp = (s: number) => unixMicrosToNtp(sender.wall0 + s * 1e6);

describe("StreamClock", () => {
  it("places each track by arrival before any sender report, from RTP time only", () => {
    const clock = new StreamClock();
    const video = clock.track(90000);
    expect(video.toMicros(videoTs(0), 5_000_000)).toBe(5_000_000);
    // Arrival jitter does not move frames: the second frame is one RTP second later, whenever it came.
    expect(video.toMicros(videoTs(1), 6_300_000)).toBe(6_000_000);
  });

  it("lines audio and video up by their sender reports, whatever their arrival skew", () => {
    const clock = new StreamClock();
    const audio = clock.track(48000);
    const video = clock.track(90000);
    // SRs are used once two agree.
    audio.senderReport(senderNtp(0), audioTs(0), 1_000_000);
    video.senderReport(senderNtp(0.5), videoTs(0.5), 1_600_000);
    audio.senderReport(senderNtp(0.7), audioTs(0.7), 1_700_000);
    video.senderReport(senderNtp(0.9), videoTs(0.9), 2_000_000);
    // Video frames arrive 180 ms after audio of the same capture time: they still land at the same time.
    let a = 0;
    for (let s = 1; s <= 3; s++) {
      a = audio.toMicros(audioTs(s), 1_000_000 + s * 1e6 + 20_000);
      const v = video.toMicros(videoTs(s), 1_000_000 + s * 1e6 + 200_000);
      expect(v - a).toBeCloseTo(0, 0);
    }
    expect(audio.toMicros(audioTs(4), 0) - a).toBeCloseTo(1e6, 0);
  });

  it("never jumps when a track's first sender report moves it, and slews at most 10 % of media time", () => {
    const clock = new StreamClock();
    const audio = clock.track(48000);
    const video = clock.track(90000);
    // Both tracks start by arrival; video arrived 150 ms late relative to audio.
    const out: number[] = [];
    audio.toMicros(audioTs(0), 10_000_000);
    out.push(video.toMicros(videoTs(0), 10_150_000));
    for (const t of [0.2, 0.25]) {
      audio.senderReport(senderNtp(t), audioTs(t), 10_000_000 + t * 1e6);
      video.senderReport(senderNtp(t), videoTs(t), 10_150_000 + t * 1e6);
    }
    for (let f = 1; f <= 90; f++) out.push(video.toMicros(videoTs(f / 30), 0));
    const steps = out.slice(1).map((t, i) => t - out[i]);
    for (const step of steps) {
      expect(step).toBeGreaterThanOrEqual(33_333 * 0.9 - 1);
      expect(step).toBeLessThanOrEqual(33_333 * 1.1 + 1);
    }
    // After the slew, video sits where the sender reports put it: on audio's timeline.
    expect(video.toMicros(videoTs(3.1), 0) - audio.toMicros(audioTs(3.1), 0)).toBeCloseTo(0, 0);
  });

  it("keeps audio where it is and moves video, even when video's sender reports come first", () => {
    const clock = new StreamClock();
    const video = clock.track(90000, "video");
    const audio = clock.track(48000, "audio");
    const a0 = audio.toMicros(audioTs(0), 20_000_000);
    video.toMicros(videoTs(0), 20_150_000); // video arrived 150 ms after audio of the same capture time
    video.senderReport(senderNtp(0.1), videoTs(0.1), 0);
    video.senderReport(senderNtp(0.3), videoTs(0.3), 0);
    expect(video.synced).toBe(false); // the stream's offset waits for audio, which is sending
    audio.senderReport(senderNtp(0.4), audioTs(0.4), 0);
    audio.senderReport(senderNtp(0.5), audioTs(0.5), 0);
    // Audio never moved: still exactly RTP time after its first frame.
    for (let f = 1; f <= 150; f++) expect(audio.toMicros(audioTs(f / 50), 0) - a0).toBeCloseTo((f / 50) * 1e6, 0);
    // Video slewed onto audio's timeline.
    for (let f = 1; f <= 90; f++) video.toMicros(videoTs(f / 30), 0);
    expect(video.toMicros(videoTs(3.1), 0) - audio.toMicros(audioTs(3.1), 0)).toBeCloseTo(0, 0);
  });

  it("uses the smallest of jittery sender reports (software senders stamp them late)", () => {
    const clock = new StreamClock();
    const audio = clock.track(48000);
    const video = clock.track(90000);
    // Audio's SRs are exact; video's are stamped 0–20 ms late.
    for (const [t, late] of [[0.1, 0.012], [1.1, 0], [2.1, 0.02], [3.1, 0.005]]) {
      audio.senderReport(senderNtp(t), audioTs(t), 0);
      video.senderReport(senderNtp(t + late), videoTs(t), 0);
    }
    audio.toMicros(audioTs(4), 0);
    video.toMicros(videoTs(4), 0);
    const a = audio.toMicros(audioTs(9), 0);
    const v = video.toMicros(videoTs(9), 0);
    expect(v - a).toBeCloseTo(0, 0);
  });

  it("ignores sender reports that disagree with each other (werift's broken NTP fraction) and stays on arrival timing", () => {
    const clock = new StreamClock();
    const audio = clock.track(48000);
    const first = audio.toMicros(audioTs(0), 5_000_000);
    // werift writes x.0345 s as fraction 345: the fraction is all but lost, so SRs are off by 0–1 s at random.
    const broken = (s: number) => ((senderNtp(s) >> 32n) << 32n) | 345n;
    for (const t of [0.31, 1.72, 2.55, 3.94, 4.48]) audio.senderReport(broken(t), audioTs(t), 0);
    expect(audio.synced).toBe(false);
    expect(audio.untrustedReports).toBe(5);
    expect(audio.toMicros(audioTs(5), 0) - first).toBeCloseTo(5e6, 0);
  });

  it("re-anchors by arrival when RTP timestamps jump to a new timeline (SSRC change)", () => {
    const clock = new StreamClock();
    const video = clock.track(90000);
    video.toMicros(1000, 1_000_000);
    const before = video.toMicros(1000 + 90000, 2_000_000);
    const after = video.toMicros(3_000_000_000, 2_040_000); // a random new base, arriving 40 ms later
    expect(after).toBe(2_040_000);
    expect(after).toBeGreaterThan(before);
    expect(video.toMicros(3_000_000_000 + 9000, 0) - after).toBeCloseTo(100_000, 0);
    expect(video.discontinuities).toBe(1);
  });

  it("unwraps RTP timestamps across 2^32", () => {
    const clock = new StreamClock();
    const audio = clock.track(48000);
    const first = audio.toMicros(audioTs(0), 0);
    // audio0 is 967,296 ticks below 2^32: 20.152 s later the timestamp has wrapped.
    expect(audioTs(30)).toBeLessThan(audioTs(0));
    expect(audio.toMicros(audioTs(30), 0) - first).toBeCloseTo(30e6, 0);
  });

  it("keeps a track's times strictly increasing even if the sender's RTP time goes back", () => {
    const clock = new StreamClock();
    const video = clock.track(90000);
    const a = video.toMicros(videoTs(1), 0);
    const b = video.toMicros(videoTs(0.5), 0);
    expect(b).toBeGreaterThan(a);
  });
});
