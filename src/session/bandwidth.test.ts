import { ReceiverEstimatedMaxBitrate } from "werift";
import { describe, expect, it } from "vitest";
import { bandwidthHeaderExtensions, rembFields } from "./bandwidth.ts";

describe("REMB bitrate encoding", () => {
  it.each([0, 1, 262_143, 262_144, 300_000, 2_500_000, 5_000_000, 100_000_000])("%i bit/s fits 18 bits of mantissa and loses < 0.01 %%", (bps) => {
    const { brExp, brMantissa } = rembFields(bps);
    expect(brMantissa).toBeLessThan(1 << 18);
    expect(brExp).toBeLessThan(64);
    const decoded = brMantissa * 2 ** brExp;
    expect(decoded).toBeLessThanOrEqual(bps);
    expect(bps - decoded).toBeLessThanOrEqual(Math.max(0, bps * 1e-4));
  });

  it("werift reads back the bitrate and the SSRCs of a REMB built from these fields", () => {
    const packet = new ReceiverEstimatedMaxBitrate({ senderSsrc: 1, mediaSsrc: 0, ssrcNum: 2, ssrcFeedbacks: [1111, 2222], ...rembFields(5_000_000) });
    const back = ReceiverEstimatedMaxBitrate.deSerialize(packet.serialize());
    expect(Number(back.bitrate)).toBeGreaterThan(4_999_000);
    expect(back.ssrcFeedbacks).toEqual([1111, 2222]);
  });
});

describe("header extensions recbot negotiates", () => {
  it("abs-send-time on video (what REMB-based estimation measures), transport-wide sequence numbers nowhere", () => {
    const uris = bandwidthHeaderExtensions();
    expect(uris.video.map((e) => e.uri)).toEqual(["http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"]);
    expect(uris.audio).toEqual([]);
  });
});

