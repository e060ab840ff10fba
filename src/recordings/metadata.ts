import type { CodecName, MediaKind, TrackStats } from "../media/types.ts";

/** What recbot's stream recorder writes; a call's composite may also be `mp4`. */
export type StreamContainer = "webm" | "mkv";

export type RecordingState = "recording" | "finished" | "failed" | "interrupted";

/** Who a recording belongs to when its session is a participant of a call (see docs/calls.md). */
export interface CallTag {
  callId: string;
  /** The call's instance: a call id used again after the call ended starts instance 2, and so on. */
  callInstance: number;
  /** Absent on the call's composite file, which is everyone's. */
  participantId?: string;
  participantName?: string;
}

/** The JSON sidecar written next to each media file (`<id>.json`). */
export interface RecordingMetadata {
  id: string;
  sessionId: string;
  /** The remote MediaStream id (msid) this file records; files of one call share `sessionId`. */
  streamId: string;
  /** The first segment's file; `segments` lists every file when ffmpeg had to be restarted. */
  file: string;
  container: StreamContainer | "mp4";
  /** Wall-clock time (Unix ms, recbot's clock) of the file's time 0: places the file on the common clock. */
  originMs?: number;
  /** Set when the session was a call participant's (`call`), or for a call's composite file (`kind`). */
  call?: CallTag;
  kind?: "stream" | "composite";
  segments?: { file: string; startMs: number }[];
  /** Stretches of the recording's timeline missing from the files (ffmpeg restarted), in ms. */
  gaps?: { fromMs: number; toMs?: number; reason: string }[];
  /** A composite's MP4 audio is AAC. */
  tracks: { kind: MediaKind; codec: CodecName | "aac" }[];
  state: RecordingState;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  sizeBytes?: number;
  frames?: number;
  /**
   * Simulcast: which layer (rid) the video is from, from when (ms after the first recorded video frame). One entry
   * per switch; the sender's layers are all received, one is written (config `simulcastLayer`).
   */
  layers?: { rid: string; fromMs: number }[];
  /** Per track (same order as `tracks`): packets, loss, NACKs and keyframe requests, when the file was finalized. */
  trackStats?: TrackStats[];
  error?: string;
}
