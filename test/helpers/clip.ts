import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface EncodedFrame {
  /** Seconds from the start of the clip. */
  time: number;
  data: Buffer;
  keyframe: boolean;
}

export interface Clip {
  video: EncodedFrame[];
  audio: EncodedFrame[];
  fps: number;
  seconds: number;
  /**
   * The same pictures encoded as keyframes only (when asked for with `intra`): a sender answers a
   * keyframe request (PLI) with the intra version of its next frame, as a browser's encoder would.
   */
  intra?: EncodedFrame[];
  /** The encoded files, so another process can load the same clip (readClip) without encoding again. */
  files: ClipFiles;
}

export interface ClipFiles {
  video: string;
  audio: string;
  intra?: string;
  fps: number;
  seconds: number;
}

export interface ClipOptions {
  seconds?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Tone frequency in Hz. */
  tone?: number;
  videoBitrate?: string;
  /** Keyframe interval in frames. */
  gop?: number;
  /** Also encode an all-keyframe copy of the video (Clip.intra). */
  intra?: boolean;
}

/** Encodes a test clip (moving test pattern + sine tone) to VP8 (IVF) and Opus (Ogg) with ffmpeg, then parses both. */
export async function makeClip(options: ClipOptions = {}): Promise<Clip> {
  const { seconds = 5, width = 320, height = 240, fps = 30, tone = 440, videoBitrate = "600k", gop = 60, intra = false } = options;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-clip-"));
  const ivf = path.join(dir, "video.ivf");
  const ogg = path.join(dir, "audio.ogg");
  const intraIvf = intra ? path.join(dir, "intra.ivf") : undefined;
  const vp8 = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", videoBitrate, "-auto-alt-ref", "0"];
  await run("ffmpeg", [
    "-v", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=${fps}`,
    "-f", "lavfi", "-i", `sine=frequency=${tone}:sample_rate=48000`,
    "-t", String(seconds), "-map", "0:v", ...vp8, "-g", String(gop), ivf,
    "-t", String(seconds), "-map", "1:a", "-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-ac", "2", ogg,
    ...(intraIvf ? ["-t", String(seconds), "-map", "0:v", ...vp8, "-g", "1", intraIvf] : []),
  ]);
  return readClip({ video: ivf, audio: ogg, intra: intraIvf, fps, seconds });
}

/** Loads a clip that makeClip encoded (possibly in another process). */
export function readClip(files: ClipFiles): Clip {
  const { fps, seconds } = files;
  const intra = files.intra ? parseIvf(readFileSync(files.intra)) : undefined;
  return { video: parseIvf(readFileSync(files.video)), audio: parseOggOpus(readFileSync(files.audio)), intra, fps, seconds, files };
}

/** IVF: 32-byte file header, then 12-byte frame headers (size, 64-bit pts in the header's time base). */
export function parseIvf(buf: Buffer): EncodedFrame[] {
  if (buf.toString("ascii", 0, 4) !== "DKIF") throw new Error("not an IVF file");
  const headerLength = buf.readUInt16LE(6);
  const rate = buf.readUInt32LE(16);
  const scale = buf.readUInt32LE(20);
  const frames: EncodedFrame[] = [];
  for (let o = headerLength; o + 12 <= buf.length; ) {
    const size = buf.readUInt32LE(o);
    const pts = Number(buf.readBigUInt64LE(o + 4));
    const data = buf.subarray(o + 12, o + 12 + size);
    frames.push({ time: (pts * scale) / rate, data, keyframe: (data[0] & 1) === 0 });
    o += 12 + size;
  }
  return frames;
}

/** Ogg Opus packets (after OpusHead/OpusTags), timed by their 20 ms duration. */
export function parseOggOpus(buf: Buffer): EncodedFrame[] {
  const packets: Buffer[] = [];
  let partial: Buffer[] = [];
  for (let o = 0; o + 27 <= buf.length; ) {
    if (buf.toString("ascii", o, o + 4) !== "OggS") throw new Error(`bad Ogg page at ${o}`);
    const segments = buf[o + 26];
    const table = buf.subarray(o + 27, o + 27 + segments);
    let p = o + 27 + segments;
    for (const lace of table) {
      partial.push(buf.subarray(p, p + lace));
      p += lace;
      if (lace < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    o = p;
  }
  return packets.slice(2).map((data, i) => ({ time: i * 0.02, data, keyframe: true }));
}
