import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ProbedStream {
  codec_type: "video" | "audio";
  codec_name: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  nb_read_frames?: string;
  duration?: string;
}

export interface Probe {
  format: { format_name: string; duration: string; size: string };
  streams: ProbedStream[];
}

/** ffprobe with frame counting (decodes the file). */
export async function probe(file: string): Promise<Probe> {
  const { stdout } = await run("ffprobe", ["-v", "error", "-count_frames", "-show_format", "-show_streams", "-of", "json", file], { maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as Probe;
}

/**
 * What `ffmpeg -v error` prints while decoding every stream: empty for a file that decodes cleanly.
 * Frames keep their own (variable-rate) timestamps in the file's 1 ms time base (`-fps_mode passthrough
 * -enc_time_base -1`); otherwise ffmpeg re-times browser or GStreamer video into 1/guessed-fps ticks and
 * reports its own rounding collisions ("non monotonically increasing dts to muxer") as if the file were broken.
 */
export async function decodeErrors(file: string): Promise<string> {
  const args = ["-nostdin", "-v", "error", "-i", file, "-fps_mode", "passthrough", "-enc_time_base", "-1", "-f", "null", "-"];
  const { stdout, stderr } = await run("ffmpeg", args, { maxBuffer: 16 << 20 });
  return (stdout + stderr).trim();
}

export function stream(p: Probe, type: "video" | "audio"): ProbedStream {
  const s = p.streams.find((x) => x.codec_type === type);
  if (!s) throw new Error(`no ${type} stream in ${JSON.stringify(p.streams.map((x) => x.codec_type))}`);
  return s;
}

export interface SyncMarks {
  /** Seconds at which the picture turns white (flash onsets). */
  flashes: number[];
  /** Seconds at which the 1 kHz beep starts. */
  beeps: number[];
}

/**
 * Finds the flash and beep onsets of the flash/beep test signal in a recording by decoding it:
 * per-frame mean luma (signalstats) and per-10 ms audio RMS (astats).
 */
export async function syncMarks(file: string): Promise<SyncMarks> {
  const video = await run("ffmpeg", ["-nostdin", "-v", "error", "-i", file, "-map", "0:v:0", "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-"], { maxBuffer: 64 << 20 });
  const audio = await run("ffmpeg", ["-nostdin", "-v", "error", "-i", file, "-map", "0:a:0", "-af", "asetnsamples=480,astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.RMS_level:file=-", "-f", "null", "-"], { maxBuffer: 64 << 20 });
  return { flashes: onsets(video.stdout, "lavfi.signalstats.YAVG", 180), beeps: onsets(audio.stdout, "lavfi.astats.Overall.RMS_level", -30) };
}

/** Times where a metadata value crosses `threshold` upwards, from ffmpeg's `metadata=print` output. */
export function onsets(text: string, key: string, threshold: number): number[] {
  const result: number[] = [];
  let time = NaN;
  let above = false;
  for (const line of text.split("\n")) {
    const t = /pts_time:([\d.]+)/.exec(line);
    if (t) time = Number(t[1]);
    else if (line.startsWith(key + "=")) {
      const value = Number(line.slice(key.length + 1));
      const now = Number.isFinite(value) && value > threshold;
      if (now && !above && Number.isFinite(time)) result.push(time);
      above = now;
    }
  }
  return result;
}

/** Median of (beep − flash) over flashes that have a beep within 0.5 s, in milliseconds; NaN if none pair up. */
export function avOffsetMs({ flashes, beeps }: SyncMarks): number {
  const offsets: number[] = [];
  for (const f of flashes) {
    const nearest = beeps.reduce((best, b) => (Math.abs(b - f) < Math.abs(best - f) ? b : best), Infinity);
    if (Math.abs(nearest - f) <= 0.5) offsets.push((nearest - f) * 1000);
  }
  if (offsets.length === 0) return NaN;
  offsets.sort((a, b) => a - b);
  return offsets[Math.floor(offsets.length / 2)];
}
