import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { VideoGap } from "./layout.ts";

const run = promisify(execFile);

/** No video for longer than this while the file goes on: the camera counts as switched off (not a late frame). */
export const VIDEO_GAP_S = 0.5;

/**
 * Gaps in a file's video from its frame times (seconds, any order) and the file's duration: stretches with no frame for
 * longer than `minS`, including a trailing one (video stopped, audio went on). A gap starts one typical frame after the
 * last frame (that frame is shown for its usual time) and ends at the next frame.
 */
export function findVideoGaps(times: readonly number[], durationS: number, minS = VIDEO_GAP_S): VideoGap[] {
  const t = [...times].filter(Number.isFinite).sort((a, b) => a - b);
  if (t.length < 2) return [];
  const deltas = t.slice(1).map((x, i) => x - t[i]).sort((a, b) => a - b);
  const frame = Math.min(deltas[Math.floor(deltas.length / 2)], minS);
  const gaps: VideoGap[] = [];
  for (let i = 1; i < t.length; i++) {
    if (t[i] - t[i - 1] > minS) gaps.push({ from: t[i - 1] + frame, to: t[i] });
  }
  const last = t[t.length - 1];
  if (Number.isFinite(durationS) && durationS - last > minS) gaps.push({ from: last + frame, to: durationS });
  return gaps;
}

/**
 * A file's video gaps, from its video packets' times as ffmpeg's filters see them (relative to the file's start time).
 * Reads packet headers only, no decoding.
 */
export async function probeVideoGaps(file: string, minS = VIDEO_GAP_S): Promise<VideoGap[]> {
  const { stdout } = await run("ffprobe", [
    "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time:format=start_time,duration", "-of", "json", file,
  ], { maxBuffer: 64 << 20 });
  const info = JSON.parse(stdout) as { packets?: { pts_time?: string }[]; format?: { start_time?: string; duration?: string } };
  const start = Number(info.format?.start_time ?? 0) || 0;
  const times = (info.packets ?? []).map((p) => Number(p.pts_time) - start);
  return findVideoGaps(times, Number(info.format?.duration ?? NaN), minS);
}
