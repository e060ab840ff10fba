import { describe, expect, it } from "vitest";
import { OPUS_SILENCE_20MS, isValidKeyframe, opusSamples, opusSilenceLike } from "./bitstream.ts";

describe("opusSamples", () => {
  it.each([
    { name: "a CELT 20 ms frame (config 31, code 0)", toc: [0xf8], samples: 960 },
    { name: "the silence frame", toc: [...OPUS_SILENCE_20MS], samples: 960 },
    { name: "a SILK 60 ms frame (config 3)", toc: [3 << 3], samples: 2880 },
    { name: "two hybrid 10 ms frames (config 12, code 1)", toc: [(12 << 3) | 1, 0], samples: 960 },
    { name: "three CELT 2.5 ms frames (config 16, code 3)", toc: [(16 << 3) | 3, 3], samples: 360 },
    { name: "an empty packet", toc: [], samples: 0 },
  ])("counts $name", ({ toc, samples }) => {
    expect(opusSamples(Buffer.from(toc))).toBe(samples);
  });
});

describe("isValidKeyframe", () => {
  it.each([
    { name: "a VP8 key frame header", codec: "vp8" as const, hex: "5003009d012a4001f000", valid: true },
    { name: "a VP8 inter frame", codec: "vp8" as const, hex: "5103009d012a4001f000", valid: false },
    { name: "a VP9 profile 0 key frame", codec: "vp9" as const, hex: "824983420031f000", valid: true },
    { name: "a VP9 inter frame", codec: "vp9" as const, hex: "860000000000", valid: false },
    { name: "an H.264 access unit with SPS and IDR", codec: "h264" as const, hex: "0000000167420000000168ce0000000165888000", valid: true },
    { name: "an H.264 IDR without SPS", codec: "h264" as const, hex: "0000000165888000", valid: false },
    { name: "an AV1 temporal unit with a sequence header and a frame", codec: "av1" as const, hex: "1200" + "0a0b00000024c4fffe00000000" + "320400000000", valid: true },
    { name: "an AV1 sequence header without a frame", codec: "av1" as const, hex: "1200" + "0a0b00000024c4fffe00000000", valid: false },
    { name: "an AV1 sequence header OBU with no payload (random bytes found by fast-check)", codec: "av1" as const, hex: "08", valid: false },
    { name: "an AV1 temporal unit with only a frame", codec: "av1" as const, hex: "1200" + "320400000000", valid: false },
  ])("$name: $valid", ({ codec, hex, valid }) => {
    expect(isValidKeyframe(codec, Buffer.from(hex, "hex"))).toBe(valid);
  });
});

describe("opusSilenceLike", () => {
  it.each([
    ["a stereo packet", Buffer.from([0xfc, 0x01]), 0x04],
    ["a mono packet", Buffer.from([0xf8, 0x01]), 0],
    ["no packet yet", undefined, 0],
  ])("after %s the silence frame has stereo bit %i and still lasts 20 ms", (_name, neighbour, bit) => {
    const silence = opusSilenceLike(neighbour);
    expect(silence[0] & 0x04).toBe(bit);
    expect(opusSamples(silence)).toBe(960);
  });
});
