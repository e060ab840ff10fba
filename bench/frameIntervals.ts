import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** How a file's frame intervals compare with what the sender sent (issue: exact timing). */
export interface IntervalCheck {
  /** Consecutive frame pairs compared. */
  compared: number;
  /** Pairs whose interval in the file differs from the sent one by more than `toleranceMs`. */
  off: number;
  /** Largest |file interval − sent interval| (ms). */
  worstMs: number;
}

/** Matroska stores times in whole milliseconds: a 33.33 ms interval is written as 33 or 34. */
export const INTERVAL_TOLERANCE_MS = 1;

/** Compares consecutive (file time, sent time) pairs, both in seconds, in file order. */
export function compareIntervals(pairs: { file: number; sent: number }[], toleranceMs = INTERVAL_TOLERANCE_MS): IntervalCheck {
  const check: IntervalCheck = { compared: 0, off: 0, worstMs: 0 };
  for (let i = 1; i < pairs.length; i++) {
    const deviation = Math.abs((pairs[i]!.file - pairs[i - 1]!.file) - (pairs[i]!.sent - pairs[i - 1]!.sent)) * 1000;
    check.compared++;
    if (deviation > toleranceMs + 1e-6) check.off++;
    if (deviation > check.worstMs) check.worstMs = deviation;
  }
  check.worstMs = Math.round(check.worstMs * 100) / 100;
  return check;
}

/** Packet times (s) per track of a file, in file order. */
export async function packetTimes(file: string): Promise<{ video: number[]; audio: number[] }> {
  const { stdout } = await run("ffprobe", ["-v", "error", "-show_entries", "stream=index,codec_type:packet=stream_index,pts_time", "-of", "json", file], { maxBuffer: 64 << 20 });
  const p = JSON.parse(stdout) as { streams: { index: number; codec_type: string }[]; packets: { stream_index: number; pts_time?: string }[] };
  const kindOf = new Map(p.streams.map((s) => [s.index, s.codec_type]));
  const times = { video: [] as number[], audio: [] as number[] };
  for (const packet of p.packets ?? []) {
    const kind = kindOf.get(packet.stream_index);
    if ((kind === "video" || kind === "audio") && packet.pts_time !== undefined) times[kind].push(Number(packet.pts_time));
  }
  return times;
}

/**
 * A file's frame intervals against the RTP timestamps the sender used, frame for frame (for a loss-free
 * recording: the file holds exactly the frames sent, in order). Unequal counts compare nothing.
 */
export async function frameIntervals(file: string, rtpTimestamps: { video: number[]; audio: number[] }, clockRates = { video: 90_000, audio: 48_000 }): Promise<{ video: IntervalCheck; audio: IntervalCheck }> {
  const times = await packetTimes(file);
  const one = (kind: "video" | "audio") => {
    const sent = rtpTimestamps[kind];
    if (sent.length !== times[kind].length) return { compared: 0, off: 0, worstMs: NaN };
    let unwrapped = 0;
    return compareIntervals(times[kind].map((file, i) => {
      if (i > 0) unwrapped += ((sent[i]! - sent[i - 1]!) >>> 0);
      return { file, sent: unwrapped / clockRates[kind] };
    }));
  };
  return { video: one("video"), audio: one("audio") };
}
