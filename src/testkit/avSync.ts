import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

// Finds the flash/beep signal (flashSignal.ts) in a recording and measures how far apart its picture and sound are.

/**
 * Times (s) of flash onsets: the first frame of each flash whose mean luma is a quarter of the way from black (16)
 * to white (235). A low-bitrate encoder may need a few frames to reach full white; the onset is what counts.
 */
async function findFlashes(file: string): Promise<number[]> {
  const { stdout } = await run("ffmpeg", [
    "-nostdin", "-v", "error", "-i", file, "-map", "0:v:0",
    "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-",
  ], { maxBuffer: 64 << 20 });
  const flashes: number[] = [];
  let time = NaN;
  let previousWhite = false;
  for (const line of stdout.split("\n")) {
    const t = /pts_time:([-\d.]+)/.exec(line);
    if (t) time = Number(t[1]);
    const y = /YAVG=([\d.]+)/.exec(line);
    if (y) {
      const white = Number(y[1]) > 16 + 0.25 * (235 - 16);
      if (white && !previousWhite) flashes.push(time);
      previousWhite = white;
    }
  }
  return flashes;
}

/** Decoded audio, mono, 48 kHz, placed by its timestamps (gaps filled with silence), from time 0. */
async function decodeAudio(file: string): Promise<Float32Array> {
  const { stdout } = await run("ffmpeg", [
    "-nostdin", "-v", "error", "-i", file, "-map", "0:a:0",
    "-af", "aresample=async=1:first_pts=0", "-ac", "1", "-ar", "48000", "-f", "f32le", "-",
  ], { encoding: "buffer", maxBuffer: 256 << 20 });
  return new Float32Array(stdout.buffer, stdout.byteOffset, stdout.byteLength / 4);
}

/** Onset times (s) of beeps: 1 ms RMS windows crossing a threshold after at least 300 ms of quiet. */
export function findBeeps(samples: Float32Array, rate = 48000): number[] {
  const window = rate / 1000;
  const beeps: number[] = [];
  let quietMs = Infinity;
  for (let w = 0; (w + 1) * window <= samples.length; w++) {
    let sum = 0;
    for (let i = w * window; i < (w + 1) * window; i++) sum += samples[i] * samples[i];
    const rms = Math.sqrt(sum / window);
    if (rms > 0.1) {
      if (quietMs >= 300) beeps.push(w / 1000);
      quietMs = 0;
    } else {
      quietMs++;
    }
  }
  return beeps;
}

export interface SyncReport {
  /** Audio-minus-video offsets (ms) of the matched flash/beep pairs. */
  offsetsMs: number[];
  meanMs: number;
  maxAbsMs: number;
  flashes: number;
  beeps: number;
  /** Seconds between consecutive flashes / beeps: 1 s each if the source and the recording kept time. */
  flashIntervals: number[];
  beepIntervals: number[];
}

/** Pairs each flash with the nearest beep (within 400 ms) and reports audio-minus-video offsets. */
export async function measureAvSync(file: string): Promise<SyncReport> {
  const flashes = await findFlashes(file);
  const beeps = findBeeps(await decodeAudio(file));
  const offsetsMs: number[] = [];
  for (const f of flashes) {
    let best = Infinity;
    for (const b of beeps) if (Math.abs(b - f) < Math.abs(best)) best = b - f;
    if (Math.abs(best) <= 0.4) offsetsMs.push(best * 1000);
  }
  const meanMs = offsetsMs.reduce((a, b) => a + b, 0) / offsetsMs.length;
  const maxAbsMs = Math.max(...offsetsMs.map(Math.abs));
  const intervals = (t: number[]) => t.slice(1).map((x, i) => x - t[i]);
  return { offsetsMs, meanMs, maxAbsMs, flashes: flashes.length, beeps: beeps.length, flashIntervals: intervals(flashes), beepIntervals: intervals(beeps) };
}
