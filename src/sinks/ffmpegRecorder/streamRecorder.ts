import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import ffmpeg from "fluent-ffmpeg";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { Frame, MediaKind, CodecName, TrackStats } from "../../media/types.ts";
import type { RecordingMetadata } from "../../recordings/metadata.ts";
import type { RecordingStore } from "../../recordings/store.ts";
import { FfmpegExitError, errorMessage } from "../../util/errors.ts";
import type { MediaSink } from "../mediaSink.ts";
import { containerFor, inputOptions, outputOptions } from "./args.ts";
import { opusSamples, opusSilenceLike } from "../../media/bitstream.ts";
import { mkvBlockHeader, mkvCluster, mkvHeader, type MkvTrack } from "./mkvStream.ts";

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
}

export interface StreamRecorderEvents {
  started: [RecordingMetadata];
  /** A new segment must start with a keyframe: the owner should ask the sender for one. */
  keyframeNeeded: [];
  finished: [RecordingMetadata];
  failed: [RecordingMetadata, Error];
}

interface Pending {
  track: number;
  frame: Frame;
}

/** Frames queued for ffmpeg beyond this mean it is not keeping up (or stuck): fail rather than eat memory. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/**
 * Bytes for ffmpeg are written at most this often (or sooner past FLUSH_BYTES). Each pipe write is a system call
 * here and a wake-up for ffmpeg; writing per frame cost recbot 17–40 % of its busy time (docs/bench.md). ffmpeg
 * keeps a 500 ms cluster in memory anyway, so this adds nothing to what a crash can lose.
 */
const FLUSH_MS = 100;
const FLUSH_BYTES = 256 * 1024;
/** ffmpeg deaths that start a new segment before the recording is declared failed. */
const MAX_SEGMENTS = 5;
/** ffmpeg errors that a restart cannot fix. */
const FATAL_OUTPUT_ERROR = /No space left|Permission denied|Read-only file system|Disk quota|No such file or directory/i;

/**
 * Records one remote MediaStream: its tracks' frames, as one interleaved Matroska stream on
 * ffmpeg's stdin, copied (`-c copy`) into a WebM/Matroska file. ffmpeg starts with the first frames
 * (no empty files); the Matroska header waits until each video track has its first keyframe
 * (for its size) or `startWaitMs`, holding early audio meanwhile.
 */
export class StreamRecorder extends EventEmitter<StreamRecorderEvents> implements MediaSink {
  readonly meta: RecordingMetadata;
  private readonly log: Logger;
  private readonly mkvTracks: MkvTrack[];
  private pending: Pending[] | undefined = [];
  private firstFrameMs = -1;
  private originMicros = 0;
  private clusterMs = -1;
  private input: PassThrough | undefined;
  private command: ffmpeg.FfmpegCommand | undefined;
  private exited: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private failure: Error | undefined;
  private lastMs = 0;
  private lastVideoMs = 0;
  private videoFrameMs = 0;
  /** Per track, where its last frame ended (ms on the file's timeline; Opus only, for silence padding). */
  private audioEndMs: (number | undefined)[] = [];
  /** Each Opus track's last packet: padding is coded like it (mono or stereo). */
  private lastOpus: (Buffer | undefined)[] = [];
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private frames = 0;
  private bytes = 0;
  /** Start of the current segment on the recording's timeline (ms), and its first frame's time. */
  private segmentStartMs = 0;
  private segmentOriginMicros = 0;
  private keyframeSeen: boolean[] = [];

  private readonly options: StreamRecorderOptions;

  constructor(options: StreamRecorderOptions) {
    super();
    this.options = options;
    const { store, sessionId, streamId, tracks } = options;
    const id = store.newId();
    const container = containerFor(tracks.map((t) => t.codec));
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
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Media time written so far, frames and payload bytes handed to ffmpeg. */
  get progress(): { durationMs: number; frames: number; bytes: number } {
    return { durationMs: this.lastMs, frames: this.frames, bytes: this.bytes };
  }

  write(track: number, frame: Frame): void {
    if (this.closing || this.failure) return;
    if (this.pending) {
      this.hold(track, frame);
      return;
    }
    this.writeFrame(track, frame);
  }

  /** Holds frames until every video track has a keyframe for this segment (or startWaitMs passes). */
  private hold(track: number, frame: Frame): void {
    const pending = this.pending!;
    const now = performance.now();
    if (this.firstFrameMs < 0) this.firstFrameMs = now;
    const t = this.mkvTracks[track];
    if (t.kind === "video") {
      if (!frame.keyframe && !this.keyframeSeen[track]) return; // a segment cannot start on a delta frame
      if (frame.keyframe) {
        this.keyframeSeen[track] = true;
        if (t.width === undefined) {
          const size = frame.codec === "vp8" ? vp8Size(frame.data) : undefined;
          t.width = size?.width ?? 0;
          t.height = size?.height ?? 0;
        }
      }
    }
    pending.push({ track, frame });
    const videoReady = this.mkvTracks.every((m, i) => m.kind !== "video" || this.keyframeSeen[i]);
    if (videoReady || now - this.firstFrameMs >= (this.options.startWaitMs ?? 3000)) this.start();
  }

  private start(): void {
    const pending = this.pending!;
    this.pending = undefined;
    if (pending.length === 0) return;
    pending.sort((a, b) => a.frame.ptsMicros - b.frame.ptsMicros);
    const first = this.meta.segments!.length === 0;
    if (first) this.originMicros = pending[0].frame.ptsMicros;
    this.segmentOriginMicros = pending[0].frame.ptsMicros;
    this.segmentStartMs = Math.max(0, Math.round((this.segmentOriginMicros - this.originMicros) / 1000));
    const file = this.options.store.mediaPath(this.meta.id, this.meta.container, this.meta.segments!.length + 1);
    this.meta.segments!.push({ file, startMs: this.segmentStartMs });
    const gap = this.meta.gaps!.at(-1);
    if (gap && gap.toMs === undefined) gap.toMs = this.segmentStartMs;
    this.clusterMs = -1;
    this.spawn(file);
    this.queue(mkvHeader(this.mkvTracks));
    for (const p of pending) this.writeFrame(p.track, p.frame);
    if (first) {
      this.log.info({ file }, "recording started");
      this.emit("started", this.meta);
    } else {
      this.log.warn({ file, segment: this.meta.segments!.length }, "recording continues in a new segment");
    }
    void this.options.store.writeMetadata(this.meta).catch((err) => this.log.warn({ err }, "metadata write failed"));
  }

  /** ffmpeg died while the stream goes on: note the gap, start a new segment from the next keyframe. */
  private restart(reason: string): void {
    this.meta.gaps!.push({ fromMs: this.lastMs, reason });
    this.dropQueued();
    this.input?.destroy();
    this.input = undefined;
    this.command = undefined;
    this.pending = [];
    this.keyframeSeen = [];
    this.firstFrameMs = -1;
    // The next segment is a file of its own: its audio padding and video timing start over.
    this.audioEndMs = [];
    this.lastVideoMs = 0;
    this.videoFrameMs = 0;
    this.emit("keyframeNeeded");
  }

  private spawn(file: string): void {
    const input = new PassThrough({ highWaterMark: 1 << 20 });
    const command = ffmpeg(input)
      .inputFormat("matroska")
      .inputOptions(inputOptions())
      .outputOptions(outputOptions(this.meta.container))
      .output(file);
    this.input = input;
    this.command = command;
    this.exited = new Promise<void>((resolve) => {
      command.on("start", (cmdline: string) => this.log.debug({ cmdline }, "ffmpeg started"));
      command.on("end", () => resolve());
      command.on("error", (err: Error, _stdout: string | null, stderr: string | null) => {
        const tail = String(stderr ?? "").trim().split("\n").slice(-3).join(" | ");
        const reason = `ffmpeg exited: ${errorMessage(err)}${tail ? ` (${tail})` : ""}`;
        resolve();
        if (this.command !== command) return; // an earlier segment's process
        const fatal = FATAL_OUTPUT_ERROR.test(reason) || this.meta.segments!.length >= MAX_SEGMENTS;
        if (this.closing || fatal || this.failure) {
          this.fail(new FfmpegExitError(reason, { recordingId: this.meta.id }));
        } else {
          this.log.warn({ reason }, "ffmpeg died mid-recording; starting a new segment");
          this.restart(reason);
        }
      });
    });
    // An EPIPE when ffmpeg dies is reported through its exit; don't let it escape as an unhandled error.
    input.on("error", (err) => this.log.debug({ err }, "ffmpeg stdin error"));
    command.run();
  }

  private writeFrame(track: number, frame: Frame): void {
    // Times in the file are relative to this segment's first frame.
    let ms = Math.round((frame.ptsMicros - this.segmentOriginMicros) / 1000);
    if (ms < 0) ms = 0;
    if (frame.codec === "opus") {
      // Audio that starts after the file does (muted or DTX at the start) is preceded by silence.
      this.padOpus(track, ms, frame.data);
      this.audioEndMs[track] = ms + (opusSamples(frame.data) || 960) / 48;
      this.lastOpus[track] = frame.data;
    }
    this.writeBlock(track, frame, ms);
  }

  /**
   * Silent 20 ms Opus frames from where the track's audio ended (or the file's start) up to `toMs`, so the
   * audio track covers the file's time. Gaps inside the stream are filled by the pipeline in RTP time already.
   */
  private padOpus(track: number, toMs: number, like: Buffer | undefined): void {
    const from = this.audioEndMs[track] ?? 0;
    const silence = opusSilenceLike(like);
    let t = from;
    for (; t + 20 <= toMs; t += 20) {
      this.writeBlock(track, { kind: "audio", codec: "opus", keyframe: true, data: silence, ptsMicros: 0 }, Math.round(t));
    }
    this.audioEndMs[track] = t;
  }

  private writeBlock(track: number, frame: Frame, ms: number): void {
    const input = this.input!;
    // New cluster on video keyframes and before the int16 relative time would overflow.
    if (this.clusterMs < 0 || (frame.keyframe && frame.kind === "video") || ms - this.clusterMs > 30_000 || ms < this.clusterMs) {
      this.clusterMs = ms;
      this.queue(mkvCluster(ms));
    }
    this.queue(mkvBlockHeader(track + 1, ms - this.clusterMs, frame.keyframe, frame.data.length));
    this.queue(frame.data);
    if (ms + this.segmentStartMs > this.lastMs) this.lastMs = ms + this.segmentStartMs;
    if (frame.kind === "video" && ms > this.lastVideoMs) {
      this.videoFrameMs = Math.min(100, ms - this.lastVideoMs);
      this.lastVideoMs = ms;
    }
    this.frames++;
    this.bytes += frame.data.length;
    if (input.writableLength + this.queuedBytes > MAX_QUEUED_BYTES) {
      this.fail(new FfmpegExitError("ffmpeg is not keeping up with the stream", { queuedBytes: input.writableLength + this.queuedBytes }));
      this.command?.kill("SIGKILL");
    }
  }

  private queue(chunk: Buffer): void {
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= FLUSH_BYTES) this.flushQueued();
    else this.flushTimer ??= setTimeout(this.flushQueued, FLUSH_MS);
  }

  private readonly flushQueued = (): void => {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.queued.length === 0) return;
    const chunk = this.queued.length === 1 ? this.queued[0] : Buffer.concat(this.queued, this.queuedBytes);
    this.queued = [];
    this.queuedBytes = 0;
    this.input?.write(chunk);
  };

  private dropQueued(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.queued = [];
    this.queuedBytes = 0;
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.dropQueued();
    this.pending = undefined;
    this.input?.destroy();
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
    if (this.pending?.length) this.start();
    this.pending = undefined;
    if (this.meta.segments!.length === 0) return; // never got a frame: no file, nothing to report
    // Audio that stopped before the end (mute, DTX, hang-up) is padded with silence to the last video frame.
    if (this.input && !this.failure && this.mkvTracks.some((t) => t.kind === "video")) {
      this.mkvTracks.forEach((t, i) => {
        // ... including the last video frame's own duration (its distance to the one before).
        if (t.codec === "opus") this.padOpus(i, this.lastVideoMs + this.videoFrameMs, this.lastOpus[i]);
      });
    }
    this.flushQueued();
    this.input?.end();
    const timeout = setTimeout(() => this.command?.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timeout);
    this.meta.endedAt = new Date().toISOString();
    this.meta.durationMs = this.lastMs;
    this.meta.frames = this.frames;
    this.meta.trackStats = this.options.trackStats?.();
    let size = 0;
    for (const s of this.meta.segments!) size += (await this.options.store.sizeOf(s.file)) ?? 0;
    this.meta.sizeBytes = size;
    if (!this.failure) this.meta.state = "finished";
    await this.options.store.writeMetadata(this.meta).catch((err) => this.log.warn({ err }, "metadata write failed"));
    if (!this.failure) {
      this.log.info({ durationMs: this.meta.durationMs, frames: this.frames, sizeBytes: this.meta.sizeBytes }, "recording finished");
      this.emit("finished", this.meta);
    }
  }
}

/** Frame size from a VP8 keyframe header (RFC 6386 §9.1). */
export function vp8Size(data: Buffer): { width: number; height: number } | undefined {
  if (data.length < 10 || (data[0] & 1) !== 0 || data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a) return undefined;
  return { width: data.readUInt16LE(6) & 0x3fff, height: data.readUInt16LE(8) & 0x3fff };
}
