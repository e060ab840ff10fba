import type { CodecName, MediaKind, TrackStats } from "../media/types.ts";

export type RecordingState = "recording" | "finished" | "failed" | "interrupted";

/** The JSON sidecar written next to each media file (`<id>.json`). */
export interface RecordingMetadata {
  id: string;
  sessionId: string;
  /** The remote MediaStream id (msid) this file records; files of one call share `sessionId`. */
  streamId: string;
  /** The first segment's file; `segments` lists every file when ffmpeg had to be restarted. */
  file: string;
  container: "webm" | "mkv";
  segments?: { file: string; startMs: number }[];
  /** Stretches of the recording's timeline missing from the files (ffmpeg restarted), in ms. */
  gaps?: { fromMs: number; toMs?: number; reason: string }[];
  tracks: { kind: MediaKind; codec: CodecName }[];
  state: RecordingState;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  sizeBytes?: number;
  frames?: number;
  /** Per track (same order as `tracks`): packets, loss, NACKs and keyframe requests, when the file was finalized. */
  trackStats?: TrackStats[];
  error?: string;
}
