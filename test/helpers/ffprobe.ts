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
 * What decoding the whole file prints at `-v error`: empty for a file that decodes cleanly. Frames keep
 * their own (variable-rate) timestamps in a 1 ms time base: a browser's real-time frames are not on a
 * 1/30 s grid, and ffmpeg would otherwise report two frames landing on the same 1/30 s slot.
 */
export async function decodeErrors(file: string): Promise<string> {
  const { stdout, stderr } = await run("ffmpeg", ["-nostdin", "-v", "error", "-i", file, "-fps_mode", "passthrough", "-r", "1000", "-f", "null", "-"], { maxBuffer: 16 << 20 });
  return (stdout + stderr).trim();
}

export function stream(p: Probe, type: "video" | "audio"): ProbedStream {
  const s = p.streams.find((x) => x.codec_type === type);
  if (!s) throw new Error(`no ${type} stream in ${JSON.stringify(p.streams.map((x) => x.codec_type))}`);
  return s;
}
