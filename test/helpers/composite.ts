import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { findBeeps } from "../../src/testkit/avSync.ts";

const run = promisify(execFile);

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Mean luma (0–255) of each cell of a cols x rows grid over the frame shown at `seconds`. */
export async function lumaGrid(file: string, seconds: number, cols = 16, rows = 9): Promise<number[][]> {
  const { stdout } = await run("ffmpeg", ["-nostdin", "-v", "error", "-ss", String(seconds), "-i", file, "-frames:v", "1",
    "-vf", `scale=${cols}:${rows}:flags=area,format=gray`, "-f", "rawvideo", "-"], { encoding: "buffer", maxBuffer: 1 << 20 });
  return Array.from({ length: rows }, (_, r) => [...stdout.subarray(r * cols, (r + 1) * cols)]);
}

/**
 * Onsets (s) of flashes inside one rectangle of the picture (a tile of the composite). The same onset rule as the
 * test kit's flash detector (src/testkit/avSync.ts), which measures the whole picture and is not exported: a
 * composite shows several participants' flashes at once, so each tile is cropped and measured on its own.
 */
export async function flashesIn(file: string, rect: Rect): Promise<number[]> {
  const { stdout } = await run("ffmpeg", ["-nostdin", "-v", "error", "-i", file, "-map", "0:v:0",
    "-vf", `crop=${rect.w}:${rect.h}:${rect.x}:${rect.y},signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-`, "-f", "null", "-"], { maxBuffer: 64 << 20 });
  const onsets: number[] = [];
  let time = NaN;
  let white = false;
  for (const line of stdout.split("\n")) {
    const t = /pts_time:([-\d.]+)/.exec(line);
    if (t) time = Number(t[1]);
    const y = /YAVG=([\d.]+)/.exec(line);
    if (y) {
      const now = Number(y[1]) > 16 + 0.25 * (235 - 16);
      if (now && !white) onsets.push(time);
      white = now;
    }
  }
  return onsets;
}

/** Decoded audio (mono 48 kHz from time 0), band-passed around `hz`. */
async function bandAudio(file: string, hz: number): Promise<Float32Array> {
  const { stdout } = await run("ffmpeg", ["-nostdin", "-v", "error", "-i", file, "-map", "0:a:0",
    "-af", `aresample=async=1:first_pts=0,bandpass=f=${hz}:width_type=q:w=4,bandpass=f=${hz}:width_type=q:w=4`, "-ac", "1", "-ar", "48000", "-f", "f32le", "-"],
  { encoding: "buffer", maxBuffer: 256 << 20 });
  return new Float32Array(stdout.buffer, stdout.byteOffset, stdout.byteLength / 4);
}

/** Onsets (s) of beeps at one frequency in a mix (the other participants' beeps are other frequencies). */
export async function beepsAt(file: string, hz: number): Promise<number[]> {
  return findBeeps(await bandAudio(file, hz));
}

/** RMS (dBFS) of the audio around `hz` between `from` and `to` seconds: is this participant's tone in the mix? */
export async function toneDb(file: string, hz: number, from: number, to: number): Promise<number> {
  const samples = (await bandAudio(file, hz)).subarray(Math.round(from * 48000), Math.round(to * 48000));
  let sum = 0;
  for (const s of samples) sum += s * s;
  return 10 * Math.log10(sum / Math.max(1, samples.length) + 1e-12);
}

/** For each onset in `a`, the signed distance (ms) to the nearest onset in `b` within `windowMs`. */
export function pairOffsetsMs(a: number[], b: number[], windowMs = 400): number[] {
  const out: number[] = [];
  for (const x of a) {
    let best = Infinity;
    for (const y of b) if (Math.abs(y - x) < Math.abs(best)) best = y - x;
    if (Math.abs(best) * 1000 <= windowMs) out.push(best * 1000);
  }
  return out;
}

/** Mean RGB of one rectangle of the frame shown at `seconds`. */
export async function meanRgb(file: string, seconds: number, rect: Rect): Promise<[number, number, number]> {
  const { stdout } = await run("ffmpeg", ["-nostdin", "-v", "error", "-ss", String(seconds), "-i", file, "-frames:v", "1",
    "-vf", `crop=${rect.w}:${rect.h}:${rect.x}:${rect.y},scale=1:1:flags=area,format=rgb24`, "-f", "rawvideo", "-"], { encoding: "buffer" });
  return [stdout[0], stdout[1], stdout[2]];
}

/** How far a colour is from grey (0 = grey; a saturated palette colour is well over 150). */
export const saturation = ([r, g, b]: [number, number, number]) => Math.max(r, g, b) - Math.min(r, g, b);
