import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Per stream: first packet time, end of the last packet (pts + duration), packet count, from the container. */
export async function packetSpans(file: string): Promise<Record<"video" | "audio", { start: number; end: number; packets: number }>> {
  const { stdout } = await run("ffprobe", ["-v", "error", "-show_entries", "stream=index,codec_type", "-of", "json", file]);
  const json = JSON.parse(stdout) as { streams: { index: number; codec_type: string }[] };
  const { stdout: csv } = await run("ffprobe", ["-v", "error", "-show_entries", "packet=stream_index,pts_time,duration_time", "-of", "csv=p=0", file], { maxBuffer: 64 << 20 });
  const kinds = new Map(json.streams.map((s) => [s.index, s.codec_type as "video" | "audio"]));
  const spans = { video: { start: Infinity, end: -Infinity, packets: 0 }, audio: { start: Infinity, end: -Infinity, packets: 0 } };
  for (const line of csv.trim().split("\n")) {
    const [index, pts, duration] = line.split(",");
    const span = spans[kinds.get(Number(index))!];
    const t = Number(pts);
    span.start = Math.min(span.start, t);
    span.end = Math.max(span.end, t + (Number(duration) || 0));
    span.packets++;
  }
  return spans;
}

/** Seconds of audio a player that ignores timestamps would play: decoded samples / 48 kHz. */
export async function decodedAudioSeconds(file: string): Promise<number> {
  const { stdout } = await run("ffmpeg", ["-nostdin", "-v", "error", "-i", file, "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-"], { encoding: "buffer", maxBuffer: 256 << 20 });
  return stdout.length / 2 / 48000;
}
