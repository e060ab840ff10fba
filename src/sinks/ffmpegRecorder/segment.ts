import type { ChildProcess } from "node:child_process";
import type { Writable } from "node:stream";
import ffmpeg from "fluent-ffmpeg";
import type { FastifyBaseLogger as Logger } from "fastify";
import { OpusPadding } from "../../media/opusPadding.ts";
import type { Frame } from "../../media/types.ts";
import { FfmpegExitError, errorMessage } from "../../util/errors.ts";
import { inputOptions, outputOptions } from "./args.ts";
import { unrunnable, useBinary } from "./binary.ts";
import { mkvBlockHeader, mkvCluster, mkvHeader, type MkvTrack } from "./mkvStream.ts";

/** Frames queued for ffmpeg beyond this mean it is not keeping up (or stuck): fail rather than eat memory. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/**
 * Bytes for ffmpeg are written at most this often (or sooner past FLUSH_BYTES). Each pipe write is a system call
 * here and a wake-up for ffmpeg; writing per frame cost recbot 17–40 % of its busy time (docs/bench.md). ffmpeg
 * keeps a 200 ms cluster in memory anyway, so this adds nothing to what a crash can lose.
 */
const FLUSH_MS = 100;
const FLUSH_BYTES = 256 * 1024;
/** How long a closing ffmpeg may take to write its index before it is killed. */
const EXIT_TIMEOUT_MS = 10_000;

export interface SegmentOptions {
  file: string;
  container: "webm" | "mkv";
  tracks: readonly MkvTrack[];
  /** The segment's first frame's time: the file's time 0. */
  originMicros: number;
  log: Logger;
  /** The ffmpeg binary (binary.ts); default `ffmpeg` from PATH. */
  ffmpegPath?: string;
  /** Frames and payload bytes written, shared by the segments of a recording. */
  counters: { frames: number; bytes: number };
  /** ffmpeg stopped before `end()` was called (or could not keep up); not called after `end()`. */
  onDied(err: FfmpegExitError): void;
}

/**
 * One ffmpeg process writing one file: an interleaved Matroska stream (header, clusters, blocks) on its
 * stdin, copied into WebM/Matroska. Made fresh for each segment of a recording; it never restarts.
 */
export class RecordingSegment {
  readonly file: string;
  /** Where the segment's time ends so far (ms, relative to its first frame). */
  lastMs = 0;
  private readonly options: SegmentOptions;
  /**
   * ffmpeg's stdin, written directly (no stream in between: a PassThrough piped to it cost ~5 % of recbot's busy
   * time per packet path, docs/bench.md). Undefined until fluent-ffmpeg has spawned the process; bytes queue till then.
   */
  private stdin: Writable | undefined;
  private readonly command: ffmpeg.FfmpegCommand;
  /** Resolves when ffmpeg has exited, with its error if it failed. */
  private readonly exited: Promise<FfmpegExitError | undefined>;
  private readonly padding: (OpusPadding | undefined)[];
  private clusterMs: number | undefined;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private lastVideoMs = 0;
  private videoFrameMs = 0;
  private ending = false;
  private abandoned = false;

  constructor(options: SegmentOptions) {
    this.options = options;
    this.file = options.file;
    // Audio that starts after the file does (muted or DTX at the start) is preceded by silence.
    this.padding = options.tracks.map((t) => (t.codec === "opus" ? new OpusPadding({ unitsPerSample: 1 / 48, start: 0 }) : undefined));
    const binary = options.ffmpegPath ?? "ffmpeg";
    const command = ffmpeg("pipe:0")
      .inputFormat("matroska")
      .inputOptions(inputOptions(options.tracks.map((t) => t.codec)))
      .outputOptions(outputOptions(options.container))
      .output(options.file);
    useBinary(command, binary);
    this.command = command;
    this.exited = new Promise((resolve) => {
      command.on("start", (cmdline: string) => {
        options.log.debug({ cmdline }, "ffmpeg started");
        this.started((command as unknown as { ffmpegProc: ChildProcess }).ffmpegProc.stdin!);
      });
      command.on("end", () => resolve(undefined));
      command.on("error", (err: Error, _stdout: string | null, stderr: string | null) => {
        const tail = String(stderr ?? "").trim().split("\n").slice(-3).join(" | ");
        const exit = new FfmpegExitError(`ffmpeg exited: ${errorMessage(err)}${tail ? ` (${tail})` : ""}`, { file: this.file });
        resolve(exit);
        this.died(exit);
      });
    });
    const missing = unrunnable(binary);
    if (missing) {
      const err = new FfmpegExitError(missing, { file: this.file });
      this.exited = Promise.resolve(err);
      queueMicrotask(() => this.died(err));
    } else {
      command.run();
    }
    this.queue(mkvHeader(options.tracks));
  }

  /** fluent-ffmpeg spawned ffmpeg (in the same tick as its "start" event): write what queued meanwhile. */
  private started(stdin: Writable): void {
    // An EPIPE when ffmpeg dies is reported through its exit; don't let it escape as an unhandled error.
    stdin.on("error", (err) => this.options.log.debug({ err }, "ffmpeg stdin error"));
    this.stdin = stdin;
    if (this.abandoned) {
      stdin.destroy();
      return;
    }
    this.flush();
    if (this.ending) stdin.end();
  }

  /**
   * Writes a frame at its place on the segment's timeline. A frame from before the segment's start (audio that
   * arrives after the video keyframe the file starts with) is left out: moving it to 0 would squeeze an interval.
   */
  write(track: number, frame: Frame): void {
    if (this.ending) return;
    const ms = Math.round((frame.ptsMicros - this.options.originMicros) / 1000);
    if (ms < 0) return;
    const padding = this.padding[track];
    if (padding) {
      padding.fill(ms, (at, silence) => this.writeBlock(track, "audio", true, silence, Math.round(at)), frame.data);
      padding.played(ms, frame.data);
    }
    this.writeBlock(track, frame.kind, frame.keyframe, frame.data, ms);
  }

  private writeBlock(track: number, kind: Frame["kind"], keyframe: boolean, data: Buffer, ms: number): void {
    // New cluster on video keyframes and before the int16 relative time would overflow.
    if (this.clusterMs === undefined || (keyframe && kind === "video") || ms - this.clusterMs > 30_000 || ms < this.clusterMs) {
      this.clusterMs = ms;
      this.queue(mkvCluster(ms));
    }
    this.queue(mkvBlockHeader(track + 1, ms - this.clusterMs, keyframe, data.length));
    this.queue(data);
    this.options.counters.frames++;
    this.options.counters.bytes += data.length;
    if (ms > this.lastMs) this.lastMs = ms;
    if (kind === "video" && ms > this.lastVideoMs) {
      this.videoFrameMs = Math.min(100, ms - this.lastVideoMs);
      this.lastVideoMs = ms;
    }
    const backlog = (this.stdin?.writableLength ?? 0) + this.queuedBytes;
    if (backlog > MAX_QUEUED_BYTES) {
      this.died(new FfmpegExitError("ffmpeg is not keeping up with the stream", { file: this.file, queuedBytes: backlog }));
      this.command.kill("SIGKILL");
    }
  }

  private queue(chunk: Buffer): void {
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= FLUSH_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(this.flush, FLUSH_MS);
  }

  private readonly flush = (): void => {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const stdin = this.stdin;
    if (this.queued.length === 0 || !stdin) return; // before the spawn, bytes wait in the queue
    const chunk = this.queued.length === 1 ? this.queued[0] : Buffer.concat(this.queued, this.queuedBytes);
    this.queued = [];
    this.queuedBytes = 0;
    if (!stdin.destroyed) stdin.write(chunk);
  };

  private died(err: FfmpegExitError): void {
    if (this.ending) return; // after end() its exit is end()'s result
    this.abandon();
    this.options.onDied(err);
  }

  /** Drops what is queued and cuts ffmpeg's input (it has died, or its file is given up). */
  abandon(): void {
    this.ending = true;
    this.abandoned = true;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.queued = [];
    this.queuedBytes = 0;
    this.stdin?.destroy();
  }

  /**
   * Finalizes the file: pads audio that stopped before the end (mute, DTX, hang-up) with silence to the
   * end of the last video frame, ends ffmpeg's input and waits for it to write the index and exit.
   * Resolves with ffmpeg's error if it failed (undefined when it wrote the file).
   */
  async end(): Promise<FfmpegExitError | undefined> {
    if (!this.ending) {
      if (this.options.tracks.some((t) => t.kind === "video")) {
        // The last video frame's duration is its distance to the one before.
        const endMs = this.lastVideoMs + this.videoFrameMs;
        this.padding.forEach((p, i) => p?.fill(endMs, (at, silence) => this.writeBlock(i, "audio", true, silence, Math.round(at))));
      }
      this.ending = true;
      this.flush();
      this.stdin?.end(); // not spawned yet: started() ends it

    }
    const timeout = setTimeout(() => this.command.kill("SIGKILL"), EXIT_TIMEOUT_MS);
    const exit = await this.exited;
    clearTimeout(timeout);
    return exit;
  }
}
