import { describe, expect, it } from "vitest";
import { OPUS_SILENCE_20MS, isValidKeyframe, isValidVideoFrame, opusSamples, opusSilenceLike } from "./bitstream.ts";

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
    { name: "an H.264 access unit with SPS and IDR", codec: "h264" as const, hex: "000000016742e01f0000000168ce0000000165888000", valid: true },
    { name: "an H.264 IDR without SPS", codec: "h264" as const, hex: "0000000165888000", valid: false },
    { name: "an H.264 SPS naming no real profile", codec: "h264" as const, hex: "0000000167070000000168ce0000000165888000", valid: false },
    { name: "an H.264 SPS with level 0", codec: "h264" as const, hex: "0000000167420000000168ce0000000165888000", valid: false },
    { name: "a one-byte IDR after a two-byte SPS (random bytes found by fast-check)", codec: "h264" as const, hex: "000000010500000001070" + "0", valid: false },
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

describe("isValidVideoFrame", () => {
  const pad = "00".repeat(20);
  it.each([
    { name: "a VP8 key frame (version 0, shown, partition inside)", codec: "vp8" as const, hex: "500000" + "9d012a4001f000" + pad, valid: true },
    { name: "a VP8 inter frame", codec: "vp8" as const, hex: "310000" + pad, valid: true },
    { name: "VP8 version 7 (ffmpeg: Invalid profile)", codec: "vp8" as const, hex: "5e0000" + "9d012a4001f000" + pad, valid: false },
    { name: "a VP8 first partition longer than the frame (Header size larger than data)", codec: "vp8" as const, hex: "50ffff" + "9d012a4001f000" + pad, valid: false },
    { name: "a VP8 key frame of width 0", codec: "vp8" as const, hex: "500000" + "9d012a0000f000" + pad, valid: false },
    { name: "a VP9 frame with frame marker 2", codec: "vp9" as const, hex: "86" + pad, valid: true },
    { name: "a VP9 frame with a wrong marker", codec: "vp9" as const, hex: "46" + pad, valid: false },
    { name: "an H.264 IDR access unit", codec: "h264" as const, hex: "000000016742e01f0000000168ce0000000165888000", valid: true },
    { name: "H.264 with the forbidden bit set", codec: "h264" as const, hex: "00000001e5888000", valid: false },
    { name: "H.264 without a start code", codec: "h264" as const, hex: "65888000aabb", valid: false },
    { name: "an AV1 frame OBU", codec: "av1" as const, hex: "320400000000", valid: true },
    { name: "an AV1 OBU whose size runs past the end", codec: "av1" as const, hex: "3210000000", valid: false },
  ])("$name: $valid", ({ codec, hex, valid }) => {
    expect(isValidVideoFrame(codec, Buffer.from(hex, "hex"))).toBe(valid);
  });
});
