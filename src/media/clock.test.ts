import { describe, expect, it } from "vitest";
import { TrackClock, ntpToUnixMicros, unixMicrosToNtp } from "./clock.ts";

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

const wall0 = 1_700_000_000_000_000;
const video0 = 123_456;
const videoTs = (s: number) => (video0 + Math.round(s * 90000)) >>> 0;
const senderNtp = (s: number) => unixMicrosToNtp(wall0 + s * 1e6);
/** werift 0.25.2 writes x.0345 s as fraction 345: read per RFC 3550 the fraction is all but lost (0–1 s early). */
const brokenNtp = (s: number) => ((senderNtp(s) >> 32n) << 32n) | 345n;

describe("TrackClock", () => {
  it.each([
    { name: "two agreeing reports are trusted", reports: [[0.5, 0], [1.5, 0]], trusted: true },
    { name: "one report is not enough", reports: [[0.5, 0]], trusted: false },
    { name: "jittery reports (stamped 0–20 ms late) are trusted, at their earliest", reports: [[0.1, 0.012], [1.1, 0], [2.1, 0.02], [3.1, 0.005]], trusted: true },
    { name: "reports 300 ms apart from each other are not", reports: [[0.5, 0], [1.5, 0.3]], trusted: false },
  ])("sender reports: $name", ({ reports, trusted }) => {
    const clock = new TrackClock(90000);
    clock.extend(videoTs(0));
    for (const [t, late] of reports) clock.senderReport(senderNtp(t + late), videoTs(t));
    // The mapping is the sender's NTP time at extended RTP time 0: the earliest agreeing report wins.
    const expected = wall0 - ((video0 + 2 ** 32) * 1e6) / 90000;
    if (trusted) expect(clock.trustedBase! - expected).toBeCloseTo(0, -1);
    else expect(clock.trustedBase).toBeUndefined();
    expect(clock.senderReports).toBe(reports.length);
  });

  it("does not trust werift's broken NTP fractions", () => {
    const clock = new TrackClock(90000);
    for (const t of [0.31, 1.72, 2.55, 3.94, 4.48]) clock.senderReport(brokenNtp(t), videoTs(t));
    expect(clock.trustedBase).toBeUndefined();
    expect(clock.untrustedReports).toBe(5);
    expect(clock.latestBase).toBeDefined();
  });

  it("places frames exactly RTP time apart from its anchor, whenever they arrive", () => {
    const clock = new TrackClock(90000);
    const first = clock.extend(videoTs(0));
    clock.anchorAt(first, 5_000_000);
    expect(clock.place(first, 5_000_000)).toBe(5_000_000);
    expect(clock.place(clock.extend(videoTs(1 / 30)), 9_000_000) - 5_000_000).toBeCloseTo(33_333.3, 0);
    expect(clock.place(clock.extend(videoTs(1)), 0) - 5_000_000).toBeCloseTo(1e6, 0);
  });

  it("places by the sender's clock: sender time + offset", () => {
    const clock = new TrackClock(90000);
    clock.senderReport(senderNtp(0), videoTs(0));
    clock.senderReport(senderNtp(1), videoTs(1));
    clock.anchorBySender(clock.trustedBase!, 250_000);
    expect(clock.place(clock.extend(videoTs(2)), 0)).toBeCloseTo(wall0 + 2e6 + 250_000, 0);
  });

  it("unwraps RTP timestamps across 2^32", () => {
    const clock = new TrackClock(48000);
    const start = 2 ** 32 - 48000 * 20;
    const first = clock.extend(start);
    clock.anchorAt(first, 0);
    clock.place(first, 0);
    for (let s = 1; s <= 30; s++) clock.place(clock.extend((start + s * 48000) >>> 0), 0);
    expect(clock.place(clock.extend((start + 31 * 48000) >>> 0), 0)).toBeCloseTo(31e6, 0);
  });

  it("starts a new timeline at a jump (SSRC change): a gap at the frame's arrival, never before the last frame", () => {
    const clock = new TrackClock(90000);
    const first = clock.extend(1000);
    clock.anchorAt(first, 1_000_000);
    clock.place(first, 1_000_000);
    const before = clock.place(clock.extend(1000 + 90000), 2_000_000);
    const after = clock.place(clock.extend(3_000_000_000), 2_040_000); // a random new base, arriving 40 ms later
    expect(before).toBe(2_000_000);
    expect(after).toBe(2_040_000);
    expect(clock.place(clock.extend(3_000_000_000 + 9000), 0) - after).toBeCloseTo(100_000, 0);
    expect(clock.discontinuities).toBe(1);
  });

  it("keeps a track's times strictly increasing even if the sender's RTP time goes back", () => {
    const clock = new TrackClock(90000);
    const first = clock.extend(videoTs(1));
    clock.anchorAt(first, 0);
    const a = clock.place(first, 0);
    const b = clock.place(clock.extend(videoTs(0.5)), 0);
    expect(b).toBeGreaterThan(a);
  });
});
