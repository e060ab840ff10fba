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
 * What `ffmpeg -v error -i FILE -f null -` prints: empty for a file that decodes cleanly.
 * `-enc_time_base -1` keeps the file's own (ms) time base: by default ffmpeg 5.1 re-times video to 1/fps, and two
 * frames of variable-rate video less than a frame apart then "collide" in the null muxer. `passthrough` also keeps
 * each frame's own timestamp (`-fps_mode passthrough`), for a real camera's jittered frame times.
 */
export async function decodeErrors(file: string, { passthrough = false } = {}): Promise<string> {
  const args = ["-nostdin", "-v", "error", "-i", file, ...(passthrough ? ["-fps_mode", "passthrough"] : []), "-enc_time_base", "-1", "-f", "null", "-"];
  const { stdout, stderr } = await run("ffmpeg", args, { maxBuffer: 16 << 20 });
  return (stdout + stderr).trim();
}

export function stream(p: Probe, type: "video" | "audio"): ProbedStream {
  const s = p.streams.find((x) => x.codec_type === type);
  if (!s) throw new Error(`no ${type} stream in ${JSON.stringify(p.streams.map((x) => x.codec_type))}`);
  return s;
}
