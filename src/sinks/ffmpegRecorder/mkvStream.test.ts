import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { makeClip } from "../../testkit/clip.ts";
import { decodeErrors, probe, stream } from "../../testkit/probe.ts";
import { mkvBlockHeader, mkvCluster, mkvHeader, vint } from "./mkvStream.ts";

const run = promisify(execFile);

describe("vint (EBML variable-size integer)", () => {
  it.each([
    { n: 0, hex: "80" },
    { n: 126, hex: "fe" },
    { n: 127, hex: "407f" }, // 0x7f alone would mean "unknown size" in one byte
    { n: 16382, hex: "7ffe" },
    { n: 16383, hex: "203fff" },
    { n: 2 ** 21, hex: "10200000" },
  ])("encodes $n as $hex", ({ n, hex }) => {
    expect(vint(n).toString("hex")).toBe(hex);
  });

  it("refuses sizes beyond 8 bytes", () => {
    expect(() => vint(2 ** 56)).toThrow(RangeError);
  });
});

describe("a Matroska stream written by mkvStream", () => {
  it("is read by ffprobe with both tracks and every frame, decodes cleanly, and copies into WebM with the right duration", async () => {
    const clip = await makeClip({ seconds: 2, gop: 30 });
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-mkv-"));
    const file = path.join(dir, "stream.mkv");
    const parts: Buffer[] = [mkvHeader([{ kind: "video", codec: "vp8", width: 320, height: 240 }, { kind: "audio", codec: "opus", sampleRate: 48000, channels: 2 }])];
    const events = [
      ...clip.video.map((f) => ({ track: 1, f })),
      ...clip.audio.map((f) => ({ track: 2, f })),
    ].sort((a, b) => a.f.time - b.f.time || a.track - b.track);
    let cluster = -1;
    for (const { track, f } of events) {
      const ms = Math.round(f.time * 1000);
      if (cluster < 0 || (track === 1 && f.keyframe)) {
        cluster = ms;
        parts.push(mkvCluster(ms));
      }
      parts.push(mkvBlockHeader(track, ms - cluster, f.keyframe, f.data.length), f.data);
    }
    writeFileSync(file, Buffer.concat(parts));

    const p = await probe(file);
    expect(p.format.format_name).toContain("matroska");
    const v = stream(p, "video");
    const a = stream(p, "audio");
    expect([v.codec_name, v.width, v.height]).toEqual(["vp8", 320, 240]);
    expect([a.codec_name, a.sample_rate, a.channels]).toEqual(["opus", "48000", 2]);
    expect(Number(v.nb_read_frames)).toBe(clip.video.length);
    expect(Number(a.nb_read_frames)).toBe(clip.audio.length);
    expect(await decodeErrors(file)).toBe("");

    // And ffmpeg copies it into WebM the way the recorder does.
    const webm = path.join(dir, "copy.webm");
    await run("ffmpeg", ["-v", "error", "-f", "matroska", "-i", file, "-map", "0", "-c", "copy", "-f", "webm", webm]);
    const copied = await probe(webm);
    expect(Number(stream(copied, "video").nb_read_frames)).toBe(clip.video.length);
    // The stream itself has no Duration (unknown-size Segment); the finalized copy does.
    expect(Math.abs(Number(copied.format.duration) - 2)).toBeLessThan(0.05);
  });
});
