import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import type { Clip } from "../src/testkit/clip.ts";
import { compareIntervals, type IntervalCheck } from "./frameIntervals.ts";

const run = promisify(execFile);

export interface FileAnalysis {
  file: string;
  /** Decoded frames per kind (ffprobe -count_frames). */
  frames: { video: number; audio: number };
  /** What the decoder printed at error level while counting (empty: decodes cleanly). */
  decodeErrors: string[];
  /**
   * A/V offset (ms): how much later video plays than audio, relative to how the publisher sent them.
   * Packets are matched to the clip by content (-c copy keeps them byte-identical), so this needs
   * no markers in the media. NaN when too few packets matched.
   */
  avOffsetMs: number;
  /** Worst deviation (ms) of any packet's timing from its track's median mapping: jumps and jitter in the file's timestamps. */
  timingSpreadMs: number;
  /**
   * Frame intervals in the file vs the sender's (the clip's timestamps, which the publishers' RTP timestamps
   * follow), per track, over consecutive packets matched to the clip by content.
   */
  intervals: { video: IntervalCheck; audio: IntervalCheck };
}

/**
 * The A/V offset that ffmpeg's own mux of the clip's streams shows (`-c copy` into WebM): in sync by
 * construction, so it is the zero point. It is not 0 because of container conventions (Opus
 * pre-skip/CodecDelay shifts audio timestamps by a few ms); subtract it from every measurement.
 */
export async function referenceAvOffsetMs(clip: Clip, index: Map<string, { kind: "video" | "audio"; time: number }>, dir: string): Promise<number> {
  const out = `${dir}/reference.webm`;
  await run("ffmpeg", ["-v", "error", "-y", "-i", clip.files.video, "-i", clip.files.audio, "-map", "0:v", "-map", "1:a", "-c", "copy", out]);
  return (await analyzeFile(out, clip, index)).avOffsetMs;
}

/** Maps each clip frame's MD5 to its time in the clip; frames whose content repeats are left out. */
export function clipIndex(clip: Clip): Map<string, { kind: "video" | "audio"; time: number }> {
  const index = new Map<string, { kind: "video" | "audio"; time: number }>();
  const repeated = new Set<string>();
  for (const kind of ["video", "audio"] as const) {
    for (const f of clip[kind]) {
      if (f.time >= clip.seconds) continue;
      const hash = createHash("md5").update(f.data).digest("hex");
      if (index.has(hash)) repeated.add(hash);
      index.set(hash, { kind, time: f.time });
    }
  }
  for (const h of repeated) index.delete(h);
  return index;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

/** One decode pass (ffprobe -count_frames) that also lists every packet's time and content hash. */
export async function analyzeFile(file: string, clip: Clip, index: Map<string, { kind: "video" | "audio"; time: number }>): Promise<FileAnalysis> {
  const { stdout, stderr } = await run("ffprobe", [
    "-v", "error", "-count_frames",
    "-show_entries", "stream=index,codec_type,nb_read_frames:packet=stream_index,pts_time,data_hash",
    "-show_data_hash", "MD5", "-of", "json", file,
  ], { maxBuffer: 256 << 20 }).catch((err) => ({ stdout: "{}", stderr: String(err.stderr || err.message) }));
  const probe = JSON.parse(stdout || "{}") as {
    streams?: { index: number; codec_type: string; nb_read_frames?: string }[];
    packets?: { stream_index: number; pts_time?: string; data_hash?: string }[];
  };
  const streams = probe.streams ?? [];
  const count = (type: string) => streams.filter((s) => s.codec_type === type).reduce((n, s) => n + Number(s.nb_read_frames ?? 0), 0);

  // Per packet: file time minus clip time, folded by the clip's period (the sender loops it).
  const period = clip.seconds;
  const fold = (d: number, ref: number) => ref + ((((d - ref + period / 2) % period) + period) % period) - period / 2;
  const deltas = { video: [] as number[], audio: [] as number[] };
  // For the intervals: the send time of each matched packet, unfolded (the clip loops; a gap shorter than one
  // period between two matched packets — lost or unmatched frames — keeps its length).
  const sentTimes = { video: [] as { file: number; sent: number; clip: number }[], audio: [] as { file: number; sent: number; clip: number }[] };
  let ref = NaN;
  for (const p of probe.packets ?? []) {
    const hit = p.data_hash && index.get(p.data_hash.replace(/^MD5:/i, ""));
    if (!hit || p.pts_time === undefined) continue;
    const d = Number(p.pts_time) - hit.time;
    if (Number.isNaN(ref)) ref = d;
    deltas[hit.kind].push(fold(d, ref));
    const track = sentTimes[hit.kind];
    const prev = track[track.length - 1];
    const sent = prev ? prev.sent + ((((hit.time - prev.clip) % period) + period) % period) : hit.time;
    track.push({ file: Number(p.pts_time), sent, clip: hit.time });
  }
  let avOffsetMs = NaN;
  let timingSpreadMs = NaN;
  if (deltas.video.length >= 10 && deltas.audio.length >= 10) {
    const mv = median(deltas.video);
    const ma = median(deltas.audio);
    avOffsetMs = (mv - ma) * 1000;
    timingSpreadMs = Math.max(...deltas.video.map((d) => Math.abs(d - mv)), ...deltas.audio.map((d) => Math.abs(d - ma))) * 1000;
  }
  return {
    file,
    intervals: { video: compareIntervals(sentTimes.video), audio: compareIntervals(sentTimes.audio) },
    frames: { video: count("video"), audio: count("audio") },
    decodeErrors: stderr.split("\n").map((l) => l.trim()).filter(Boolean),
    avOffsetMs,
    timingSpreadMs,
  };
}
