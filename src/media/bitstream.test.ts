import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { OPUS_SILENCE_20MS, isValidKeyframe, isValidVideoFrame, opusSamples, opusSilenceLike, vp8TokenPartitions } from "./bitstream.ts";

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
    { name: "a VP8 key frame (version 0, shown, a 16-byte first partition inside)", codec: "vp8" as const, hex: "100200" + "9d012a4001f000" + pad, valid: true },
    { name: "a VP8 inter frame", codec: "vp8" as const, hex: "110200" + pad, valid: true },
    { name: "a VP8 frame whose header runs past its 2-byte first partition", codec: "vp8" as const, hex: "500000" + "9d012a4001f000" + pad, valid: false },
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

/** The frames of an IVF file (what ffmpeg's libvpx writes with `-f ivf`). */
function ivfFrames(file: string): Buffer[] {
  const d = readFileSync(file);
  const frames: Buffer[] = [];
  for (let at = 32; at + 12 <= d.length; at += 12 + d.readUInt32LE(at)) frames.push(d.subarray(at + 12, at + 12 + d.readUInt32LE(at)));
  return frames;
}

function ivf(frames: Buffer[], width: number, height: number): Buffer {
  const head = Buffer.alloc(32);
  head.write("DKIF", 0);
  head.writeUInt16LE(32, 6);
  head.write("VP80", 8);
  head.writeUInt16LE(width, 12);
  head.writeUInt16LE(height, 14);
  head.writeUInt32LE(30, 16);
  head.writeUInt32LE(1, 20);
  head.writeUInt32LE(frames.length, 24);
  return Buffer.concat([head, ...frames.flatMap((f, i) => {
    const h = Buffer.alloc(12);
    h.writeUInt32LE(f.length, 0);
    h.writeBigUInt64LE(BigInt(i), 4);
    return [h, f];
  })]);
}

describe("VP8 token partitions", () => {
  const run = promisify(execFile);
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-vp8parts-"));

  it.each([1, 2, 4, 8])("reads the count libvpx wrote (-slices %i) and accepts every frame", async (slices) => {
    const file = path.join(dir, `s${slices}.ivf`);
    await run("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "1", "-c:v", "libvpx", "-b:v", "600k", "-g", "10",
      "-slices", String(slices), "-y", file]);
    const frames = ivfFrames(file);
    expect(frames.length).toBe(30);
    expect(frames.map((f) => vp8TokenPartitions(f))).toEqual(frames.map(() => slices));
    expect(frames.filter((f) => !isValidVideoFrame("vp8", f))).toEqual([]);
    // The same frames with their last partition cut off, or a size table that runs past the end, are refused.
    const cut = frames.map((f) => f.subarray(0, slices > 1 ? ((f[0]! & 1) === 0 ? 10 : 3) + ((f[0]! | (f[1]! << 8) | (f[2]! << 16)) >>> 5) + 3 * (slices - 1) - 1 : f.length));
    if (slices > 1) expect(cut.filter((f) => isValidVideoFrame("vp8", f))).toEqual([]);
  });

  it("random key frames that pass the frame tag checks: what it accepts decodes without an error, and it accepts fewer than half", async () => {
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const accepted: number[] = [];
    const wrong: string[] = [];
    let refusedButDecodes = 0;
    for (let i = 0; i < 40; i++) {
      const f = Buffer.from(Array.from({ length: 600 }, () => Math.floor(random() * 256)));
      const firstPartition = 1 + Math.floor(random() * 580);
      const tag = 0x10 | (firstPartition << 5); // key frame, version 0, shown
      f.writeUIntLE(tag, 0, 3);
      f.set([0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00], 3); // 320x240
      const valid = isValidVideoFrame("vp8", f);
      const file = path.join(dir, `r${i}.ivf`);
      writeFileSync(file, ivf([f], 320, 240));
      const { stderr } = await run("ffmpeg", ["-v", "error", "-i", file, "-f", "null", "-"]).catch((e: { stderr: string }) => e);
      // Refusing a frame ffmpeg would decode is allowed (a header running past its partition: decoders disagree).
      if (valid && stderr.trim() !== "") wrong.push(`frame ${i}: accepted, ffmpeg said "${stderr.trim()}"`);
      if (valid) accepted.push(i);
      else refusedButDecodes += stderr.trim() === "" ? 1 : 0;
    }
    expect(wrong).toEqual([]);
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.length).toBeLessThan(20);
    expect(refusedButDecodes, "refused frames that ffmpeg decodes").toBeLessThan(5);
  });
});
