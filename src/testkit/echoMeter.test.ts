import { describe, expect, it } from "vitest";
import { EchoMeter } from "./echoMeter.ts";

describe("EchoMeter", () => {
  it("matches returned frames by RTP timestamp and measures round trip, loss and freezes", () => {
    const m = new EchoMeter(0, 30);
    // 10 video frames of 2 packets at 33 ms; frame 5 never comes back; frames return 10 ms later.
    for (let i = 0; i < 10; i++) m.sent({ kind: "video", rtpTimestamp: i * 3000, atMs: i * 33, packets: 2, bytes: 1000 });
    for (let i = 0; i < 10; i++) {
      if (i === 5) continue;
      const at = i * 33 + 10 + (i > 5 ? 200 : 0); // a stall after the lost frame
      m.received("video", i * 3000, false, 500, at - 1);
      m.received("video", i * 3000, true, 500, at);
    }
    m.received("video", 123456, true, 10, 400); // an unknown timestamp
    const r = m.metrics();
    expect(r.video.framesReturned).toBe(9);
    expect(r.video.packetsReturned).toBe(18);
    expect(r.video.lossPct).toBeCloseTo(10);
    expect(r.video.unmatched).toBe(1);
    expect(r.video.rttMs.median).toBe(10);
    expect(r.video.rttMs.max).toBe(210);
    expect(r.freezes.count).toBe(1);
    expect(r.freezes.longestMs).toBe(266);
  });

  it("computes RFC 3550 jitter: zero for evenly spaced arrivals", () => {
    const m = new EchoMeter(0, 50);
    for (let i = 0; i < 50; i++) {
      m.sent({ kind: "audio", rtpTimestamp: i * 960, atMs: i * 20, packets: 1, bytes: 100 });
      m.received("audio", i * 960, true, 100, i * 20 + 5);
    }
    expect(m.metrics().audio.jitterMs).toBeCloseTo(0, 5);
    expect(m.series()[0]).toMatchObject({ t: 0, rttMs: 5, lossPct: 0 });
  });
});
