import type { CodecName, MediaKind, TrackStats } from "../media/types.ts";

export type RecordingState = "recording" | "finished" | "failed" | "interrupted";

/** The JSON sidecar written next to each media file (`<id>.json`). */
export interface RecordingMetadata {
  id: string;
  sessionId: string;
  /** The remote MediaStream id (msid) this file records; files of one call share `sessionId`. */
  streamId: string;
  file: string;
  container: "webm" | "mkv";
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
