import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { Frame, MediaKind, CodecName, TrackStats } from "../../media/types.ts";
import type { RecordingMetadata, StreamContainer } from "../../recordings/metadata.ts";
import type { RecordingStore } from "../../recordings/store.ts";
import type { FfmpegExitError } from "../../util/errors.ts";
import type { MediaSink } from "../mediaSink.ts";
import { containerFor } from "./args.ts";
import type { MkvTrack } from "./mkvStream.ts";
import { RecordingSegment } from "./segment.ts";
import { StartGate } from "./startGate.ts";

export interface RecorderTrack {
  kind: MediaKind;
  codec: CodecName;
  clockRate: number;
  channels?: number;
}

export interface StreamRecorderOptions {
  store: RecordingStore;
  sessionId: string;
  streamId: string;
  tracks: readonly RecorderTrack[];
  log: Logger;
  /** The tracks' media statistics, stored in the sidecar when the file is finalized. */
  trackStats?: () => TrackStats[];
  /** How long to hold early frames while waiting for every video track's first keyframe. */
  startWaitMs?: number;
  /** The ffmpeg binary to run (binary.ts); default `ffmpeg` from PATH. */
  ffmpegPath?: string;
}

export interface StreamRecorderEvents {
  started: [RecordingMetadata];
  /** A new segment must start with a keyframe: the owner should ask the sender for one. */
  keyframeNeeded: [];
  finished: [RecordingMetadata];
  failed: [RecordingMetadata, Error];
}

/** ffmpeg deaths that start a new segment before the recording is declared failed. */
const MAX_SEGMENTS = 5;
/** ffmpeg errors that a restart cannot fix. */
const FATAL_OUTPUT_ERROR = /No space left|Permission denied|Read-only file system|Disk quota|No such file or directory|not keeping up|ffmpeg not found|not found on PATH/i;
const DEFAULT_START_WAIT_MS = 3000;

/**
 * Records one remote MediaStream: its tracks' frames, as one interleaved Matroska stream on ffmpeg's
 * stdin, copied (`-c copy`) into a WebM/Matroska file. The recording starts with its first frames (no
 * empty files) once each video track has a keyframe (StartGate). If ffmpeg dies mid-stream, the
 * recording notes a gap and goes on in a new segment (a new file and ffmpeg, RecordingSegment) from the
 * next keyframe; the sidecar lists the segments and gaps.
 */
export class StreamRecorder extends EventEmitter<StreamRecorderEvents> implements MediaSink {
  readonly meta: RecordingMetadata;
  private readonly log: Logger;
  /** The stream's container (the metadata's type also allows a composite's mp4). */
  private readonly container: StreamContainer;
  private readonly mkvTracks: MkvTrack[];
  /** Holds the frames of a segment that has not started yet. */
  private gate: StartGate | undefined;
  private segment: RecordingSegment | undefined;
  /** The recording's first frame's time, and where the current segment starts on the recording's timeline (ms). */
  private originMicros: number | undefined;
  private segmentStartMs = 0;
  /** The recording's timeline written by earlier segments (ms). */
  private doneMs = 0;
  private readonly counters = { frames: 0, bytes: 0 };
  private closing: Promise<void> | undefined;
  private failure: Error | undefined;

  private readonly options: StreamRecorderOptions;

  constructor(options: StreamRecorderOptions) {
    super();
    this.options = options;
    const { store, sessionId, streamId, tracks } = options;
    const id = store.newId();
    const container = (this.container = containerFor(tracks.map((t) => t.codec)));
    this.meta = {
      id, sessionId, streamId, container,
      file: store.mediaPath(id, container),
      segments: [],
      gaps: [],
      tracks: tracks.map(({ kind, codec }) => ({ kind, codec })),
      state: "recording",
      startedAt: new Date().toISOString(),
    };
    this.log = options.log.child({ recordingId: id, streamId });
    this.mkvTracks = tracks.map((t) => ({
      kind: t.kind, codec: t.codec,
      sampleRate: t.kind === "audio" ? t.clockRate : undefined,
      channels: t.kind === "audio" ? (t.channels ?? 1) : undefined,
    }));
    this.gate = new StartGate(this.mkvTracks, options.startWaitMs ?? DEFAULT_START_WAIT_MS);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  private get durationMs(): number {
    return Math.max(this.doneMs, this.segment ? this.segmentStartMs + this.segment.lastMs : 0);
  }

  /** Media time written so far, frames and payload bytes handed to ffmpeg. */
  get progress(): { durationMs: number; frames: number; bytes: number } {
    return { durationMs: this.durationMs, frames: this.counters.frames, bytes: this.counters.bytes };
  }

  write(track: number, frame: Frame): void {
    if (this.closing || this.failure) return;
    if (!this.gate) return this.segment?.write(track, frame);
    if (this.gate.hold(track, frame, performance.now())) this.start();
  }

  /** Starts a segment with the frames the gate held. */
  private start(): void {
    const held = this.gate!.release();
    this.gate = undefined;
    if (held.length === 0) return;
    const origin = held[0].frame.ptsMicros;
    const first = this.meta.segments!.length === 0;
    this.originMicros ??= origin;
    // Frame times are on recbot's wall clock (media/clock.ts): this places the file among others (call composites).
    this.meta.originMs ??= this.originMicros / 1000;
    this.segmentStartMs = Math.max(0, Math.round((origin - this.originMicros) / 1000));
    const file = this.options.store.mediaPath(this.meta.id, this.meta.container, this.meta.segments!.length + 1);
    this.meta.segments!.push({ file, startMs: this.segmentStartMs });
    const gap = this.meta.gaps!.at(-1);
    if (gap && gap.toMs === undefined) gap.toMs = this.segmentStartMs;
    const segment: RecordingSegment = new RecordingSegment({
      file, container: this.container, tracks: this.mkvTracks, originMicros: origin, log: this.log, counters: this.counters,
      ffmpegPath: this.options.ffmpegPath, onDied: (err) => this.segmentDied(segment, err),
    });
    this.segment = segment;
    for (const h of held) segment.write(h.track, h.frame);
    if (first) {
      this.log.info({ file }, "recording started");
      this.emit("started", this.meta);
    } else {
      this.log.warn({ file, segment: this.meta.segments!.length }, "recording continues in a new segment");
    }
    void this.options.store.writeMetadata(this.meta).catch((err) => this.log.warn({ err }, "metadata write failed"));
  }

  /** ffmpeg died while the stream goes on: note the gap, start a new segment from the next keyframe. */
  private segmentDied(segment: RecordingSegment, err: FfmpegExitError): void {
    if (segment !== this.segment || this.closing || this.failure) return;
    // Each death leaves a gap; a segment whose ffmpeg died before creating its file is not listed (below).
    if (FATAL_OUTPUT_ERROR.test(err.message) || this.meta.gaps!.length + 1 >= MAX_SEGMENTS) return this.fail(err);
    this.log.warn({ reason: err.message }, "ffmpeg died mid-recording; starting a new segment");
    this.doneMs = this.durationMs;
    if (!existsSync(segment.file)) {
      // Killed before it opened its output (ffmpeg opens it after probing its input): nothing of the segment is
      // on disk, so the sidecar does not list a file that does not exist, and the gap starts where it started.
      this.meta.segments!.pop();
      this.doneMs = this.segmentStartMs;
    }
    this.meta.gaps!.push({ fromMs: this.doneMs, reason: err.message });
    this.segment = undefined;
    this.gate = new StartGate(this.mkvTracks, this.options.startWaitMs ?? DEFAULT_START_WAIT_MS);
    this.emit("keyframeNeeded");
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.gate = undefined;
    this.segment?.abandon();
    this.meta.state = "failed";
    this.meta.error = err.message;
    this.log.error({ err }, "recording failed");
    this.emit("failed", this.meta, err);
  }

  /** Finalizes the file: ends ffmpeg's input and waits for it to write the index and exit. */
  close(): Promise<void> {
    this.closing ??= this.finalize();
    return this.closing;
  }

  private async finalize(): Promise<void> {
    if (this.gate) this.start(); // frames still held (a video track that never sent a keyframe)
    if (this.meta.segments!.length === 0) {
      if (this.meta.gaps!.length === 0) return; // never got a frame: no file, nothing to report
      // Every ffmpeg died before creating its file and the stream ended before the next one started.
      this.fail(new Error(`no file was written: ${this.meta.gaps!.at(-1)!.reason}`));
    }
    const exit = await this.segment?.end();
    if (exit) this.fail(exit);
    this.meta.endedAt = new Date().toISOString();
    this.meta.durationMs = this.durationMs;
    this.meta.frames = this.counters.frames;
    this.meta.trackStats = this.options.trackStats?.();
    let size = 0;
    for (const s of this.meta.segments!) size += (await this.options.store.sizeOf(s.file)) ?? 0;
    this.meta.sizeBytes = size;
    if (!this.failure) this.meta.state = "finished";
    await this.options.store.writeMetadata(this.meta).catch((err) => this.log.warn({ err }, "metadata write failed"));
    if (!this.failure) {
      this.log.info({ durationMs: this.meta.durationMs, frames: this.counters.frames, sizeBytes: this.meta.sizeBytes }, "recording finished");
      this.emit("finished", this.meta);
    }
  }
}
