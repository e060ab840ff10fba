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
  const { stdout, stderr } = await run("ffmpeg", decodeArgs(file), { maxBuffer: 16 << 20 });
  return (stdout + stderr).trim();
}

/** ffmpeg's arguments for `decodeErrors` (also run inside the deployment test's container). */
export function decodeArgs(file: string): string[] {
  return ["-nostdin", "-v", "error", "-i", file, "-fps_mode", "passthrough", "-enc_time_base", "-1", "-f", "null", "-"];
}

export function stream(p: Probe, type: "video" | "audio"): ProbedStream {
  const s = p.streams.find((x) => x.codec_type === type);
  if (!s) throw new Error(`no ${type} stream in ${JSON.stringify(p.streams.map((x) => x.codec_type))}`);
  return s;
}
