export type MediaKind = "audio" | "video";
export type VideoCodec = "vp8" | "vp9" | "h264" | "av1";
export type AudioCodec = "opus" | "pcmu" | "pcma";
export type CodecName = VideoCodec | AudioCodec;

/** A decodable unit (video frame or audio packet) placed on the stream's common clock. */
export interface Frame {
  kind: MediaKind;
  codec: CodecName;
  keyframe: boolean;
  data: Buffer;
  /** Presentation time in microseconds on the session's wall clock (see clock.ts). */
  ptsMicros: number;
}

/** A frame as the pipeline gives it, before timing: its RTP timestamp and when it arrived (see syncHold.ts). */
export interface RtpFrame {
  kind: MediaKind;
  codec: CodecName;
  keyframe: boolean;
  data: Buffer;
  rtpTimestamp: number;
  /** Local wall clock (µs) when the packet that completed the frame arrived (jitter-buffer time excluded). */
  arrivalMicros: number;
}

/** Counters a pipeline keeps for stats and metrics. */
export interface TrackStats {
  packets: number;
  bytes: number;
  lost: number;
  late: number;
  duplicates: number;
  frames: number;
  framesDropped: number;
  keyframeRequests: number;
  /** NACK feedback messages sent for this track (counted by the session from werift's NACK handler). */
  nacks: number;
  /** Silent 20 ms Opus frames written into gaps (DTX, lost packets). */
  silenceFilled: number;
  /** Of framesDropped: frames that grew past the size bound (a sender that never ends a frame). */
  framesTooLarge: number;
  /** Of framesDropped: frames whose codec headers are not valid (garbage a decoder would reject). */
  framesInvalid: number;
  /** Of framesDropped: frames whose timestamp went backwards or overlapped the previous frame. */
  framesBackwards: number;
  /** Times the RTP timestamps ran ahead of real time and the track continued on a new timeline (timelineGuard.ts). */
  timelineJumps: number;
}
