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
  /** The encoded files, e.g. to hand the clip to a publisher in another process (loadClip). */
  files: { ivf: string; ogg: string };
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
  /**
   * "testsrc": moving test pattern + continuous tone. "flash": black with one white frame at each whole
   * second, silence with a 50 ms beep at each whole second (for A/V sync measurement).
   */
  pattern?: "testsrc" | "flash";
  /** Mute the audio for this span of seconds [from, to) (a silence in the middle of the clip). */
  silence?: [number, number];
  /** Encode Opus with DTX: during silence the encoder emits tiny packets instead of full frames. */
  dtx?: boolean;
}

/** Encodes a test clip (moving test pattern + sine tone) to VP8 (IVF) and Opus (Ogg) with ffmpeg, then parses both. */
export async function makeClip(options: ClipOptions = {}): Promise<Clip> {
  const { seconds = 5, width = 320, height = 240, fps = 30, tone = 440, videoBitrate = "600k", gop = 60, pattern = "testsrc" } = options;
  const videoSource = pattern === "flash"
    ? `color=c=black:size=${width}x${height}:rate=${fps},drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,${0.5 / fps})'`
    : `testsrc2=size=${width}x${height}:rate=${fps}`;
  let audioExpr = pattern === "flash" ? `if(lt(mod(t\\,1)\\,0.05)\\,0.8*sin(2*PI*1000*t)\\,0)` : `0.125*sin(2*PI*${tone}*t)`;
  if (options.silence) audioExpr = `if(between(t\\,${options.silence[0]}\\,${options.silence[1]})\\,0\\,${audioExpr})`;
  const audioSource = `aevalsrc='${audioExpr}':s=48000:c=stereo`;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-clip-"));
  const ivf = path.join(dir, "video.ivf");
  const ogg = path.join(dir, "audio.ogg");
  await run("ffmpeg", [
    "-v", "error", "-y",
    "-f", "lavfi", "-i", videoSource,
    "-f", "lavfi", "-i", audioSource,
    "-t", String(seconds), "-map", "0:v", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", videoBitrate,
    "-g", String(gop), "-auto-alt-ref", "0", ivf,
    "-t", String(seconds), "-map", "1:a", "-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-ac", "2", ...(options.dtx ? ["-dtx", "1", "-application", "voip"] : []), ogg,
  ]);
  return loadClip({ ivf, ogg }, fps, seconds);
}

/** A clip from files written by makeClip. */
export function loadClip(files: { ivf: string; ogg: string }, fps: number, seconds: number): Clip {
  return { video: parseIvf(readFileSync(files.ivf)), audio: parseOggOpus(readFileSync(files.ogg)), fps, seconds, files };
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
