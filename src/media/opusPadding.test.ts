import { describe, expect, it } from "vitest";
import { OPUS_SILENCE_20MS } from "./bitstream.ts";
import { OpusPadding } from "./opusPadding.ts";

/** A 20 ms Opus packet (CELT fullband config 31, code 0), mono or stereo. */
const packet = (stereo = false) => Buffer.from([0xf8 | (stereo ? 0x04 : 0), 0x01, 0x02, 0x03]);

describe("OpusPadding: whole silent 20 ms frames from where the audio ended", () => {
  it.each([
    { name: "no gap: nothing", unit: "ms", start: 0, played: [0], to: 20, expected: [] },
    { name: "a gap shorter than a frame: nothing", unit: "ms", start: 0, played: [0], to: 39, expected: [] },
    { name: "a 60 ms gap: three frames", unit: "ms", start: 0, played: [0], to: 80, expected: [20, 40, 60] },
    { name: "audio that starts after its file: padded from 0", unit: "ms", start: 0, played: [], to: 50, expected: [0, 20] },
    { name: "RTP time: a DTX gap of 3 frames", unit: "rtp", played: [1000], to: 1000 + 960 * 4, expected: [1960, 2920, 3880] },
    { name: "RTP time across the 32-bit wrap", unit: "rtp", played: [2 ** 32 - 960], to: 960, expected: [0] },
    { name: "RTP time, nothing before the first frame", unit: "rtp", played: [], to: 96000, expected: [] },
    { name: "RTP time, a jump beyond maxGap is a new timeline, not a pause", unit: "rtp", played: [0], to: 48000 * 700, expected: [] },
  ])("$name", ({ unit, start, played, to, expected }) => {
    const padding = new OpusPadding(unit === "ms" ? { unitsPerSample: 1 / 48, start } : { unitsPerSample: 1, wrap32: true, maxGap: 48000 * 600 });
    for (const at of played) padding.played(at, packet());
    const at: number[] = [];
    expect(padding.fill(to, (t) => at.push(t))).toBe(expected.length);
    expect(at.map((t) => Math.round(t))).toEqual(expected);
  });

  it("codes the silence like the track's packets (mono or stereo)", () => {
    const padding = new OpusPadding({ unitsPerSample: 1 / 48, start: 0 });
    padding.played(0, packet(true));
    const frames: Buffer[] = [];
    padding.fill(60, (_t, silence) => frames.push(silence));
    expect(frames).toHaveLength(2);
    expect(frames[0][0] & 0x04).toBe(0x04);
    expect(frames[0].subarray(1)).toEqual(OPUS_SILENCE_20MS.subarray(1));
  });
});
