import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PALETTE } from "./browser.ts";

const run = promisify(execFile);
/** One output frame per decoded frame: no duplicates or drops to fit a constant frame rate. */
const PASSTHROUGH = ["-fps_mode", "passthrough"];

async function decode(args: string[]): Promise<Buffer> {
  const { stdout } = await run("ffmpeg", ["-nostdin", "-v", "error", ...args, "-"], { encoding: "buffer", maxBuffer: 256 << 20 });
  return stdout;
}

/** Goertzel power of one frequency over a window of samples. */
function power(samples: Float64Array, start: number, length: number, hz: number, rate: number): number {
  const k = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0, s2 = 0;
  for (let i = start; i < start + length; i++) {
    const s0 = samples[i] + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

export interface ToneAnalysis {
  /** The strongest frequency (5 Hz steps, 50–3900 Hz) over the middle of the recording. */
  peakHz: number;
  /** RMS level of the decoded audio in dBFS. */
  rmsDb: number;
}

/** Decodes the audio to 16 kHz mono PCM and finds its dominant frequency. */
export async function analyseTone(file: string): Promise<ToneAnalysis> {
  const rate = 16000;
  const pcm = await decode(["-i", file, "-map", "0:a:0", "-ac", "1", "-ar", String(rate), "-f", "s16le"]);
  const n = pcm.length >> 1;
  const samples = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    samples[i] = pcm.readInt16LE(i * 2) / 32768;
    sum += samples[i] * samples[i];
  }
  const window = Math.min(8000, n);
  const start = Math.max(0, (n >> 1) - (window >> 1));
  let peakHz = 0, peak = -1;
  for (let hz = 50; hz <= 3900; hz += 5) {
    const p = power(samples, start, window, hz, rate);
    if (p > peak) (peak = p), (peakHz = hz);
  }
  return { peakHz, rmsDb: 10 * Math.log10(sum / Math.max(1, n) + 1e-12) };
}

export interface ColourAnalysis {
  frames: number;
  /** Frames whose mean colour is near a palette colour. */
  classified: number;
  /** Colour changes seen, in the order of the palette (red → green → blue → yellow → red …). */
  inOrder: number;
  /** Colour changes that break the palette's order. */
  outOfOrder: number;
  sequence: string[];
}

/** Decodes every video frame to a 4x4 RGB thumbnail and follows the palette's colour sequence. */
export async function analyseColours(file: string): Promise<ColourAnalysis> {
  const raw = await decode(["-i", file, "-map", "0:v:0", "-vf", "scale=4:4:flags=area,format=rgb24", ...PASSTHROUGH, "-f", "rawvideo"]);
  const frameBytes = 4 * 4 * 3;
  const result: ColourAnalysis = { frames: raw.length / frameBytes, classified: 0, inOrder: 0, outOfOrder: 0, sequence: [] };
  let last = -1;
  for (let o = 0; o + frameBytes <= raw.length; o += frameBytes) {
    const mean = [0, 0, 0];
    for (let i = 0; i < frameBytes; i++) mean[i % 3] += raw[o + i] / 16;
    let best = -1, bestDistance = Infinity;
    PALETTE.forEach((c, i) => {
      const d = Math.hypot(c.rgb[0] - mean[0], c.rgb[1] - mean[1], c.rgb[2] - mean[2]);
      if (d < bestDistance) (bestDistance = d), (best = i);
    });
    if (bestDistance > 60) continue; // a blend while the colour changes, or not the picture at all
    result.classified++;
    if (best !== last) {
      if (last >= 0) best === (last + 1) % PALETTE.length ? result.inOrder++ : result.outOfOrder++;
      result.sequence.push(PALETTE[best].name);
      last = best;
    }
  }
  return result;
}

/** Mean luma of each decoded frame (0–255), to find black (disabled-track) stretches. */
export async function frameLuma(file: string): Promise<number[]> {
  const raw = await decode(["-i", file, "-map", "0:v:0", "-vf", "scale=4:4:flags=area,format=gray", ...PASSTHROUGH, "-f", "rawvideo"]);
  const out: number[] = [];
  for (let o = 0; o + 16 <= raw.length; o += 16) {
    let s = 0;
    for (let i = 0; i < 16; i++) s += raw[o + i];
    out.push(s / 16);
  }
  return out;
}

/**
 * How H.264 sits in a Matroska file: its CodecPrivate (extradata) should be an avcC record
 * (version byte 1) and the first packet's NAL units length-prefixed, not Annex-B start codes.
 */
export async function h264Layout(file: string): Promise<{ extradata: string; firstPacket: string }> {
  const { stdout } = await run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_streams", "-show_data", "-read_intervals", "%+#1",
    "-show_packets", "-of", "json", file], { maxBuffer: 16 << 20 });
  const parsed = JSON.parse(stdout);
  const hex = (dump: string | undefined) => (dump ?? "").split("\n").map((l) => l.slice(10, 50).replace(/\s/g, "")).join("");
  return { extradata: hex(parsed.streams[0]?.extradata), firstPacket: hex(parsed.packets[0]?.data) };
}

/** Presentation times (seconds) of the first video stream's packets. */
export async function videoPacketTimes(file: string): Promise<number[]> {
  const { stdout } = await run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0", file], { maxBuffer: 16 << 20 });
  return stdout.trim().split("\n").map(Number).sort((a, b) => a - b);
}

/** Mean chroma (U, V: 0–255) of each decoded frame: Firefox's fake camera keeps luma and walks through hues. */
export async function frameChroma(file: string): Promise<[number, number][]> {
  const raw = await decode(["-i", file, "-map", "0:v:0", "-vf", "scale=1:1:flags=area,format=yuv444p", ...PASSTHROUGH, "-f", "rawvideo"]);
  const out: [number, number][] = [];
  for (let o = 0; o + 3 <= raw.length; o += 3) out.push([raw[o + 1], raw[o + 2]]);
  return out;
}
