import { EventEmitter } from "node:events";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { Config } from "../config/schema.ts";
import { StreamClock } from "../media/clock.ts";
import type { TrackStats } from "../media/types.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import type { RecordingStore } from "../recordings/store.ts";
import { StreamRecorder } from "../sinks/ffmpegRecorder/streamRecorder.ts";
import { codecTable } from "./codecs.ts";
import { ReceivedTrack, type TrackOffer } from "./receivedTrack.ts";
import type { RecordingEvent, SessionTotals } from "./session.ts";

export interface RemoteStreamDeps {
  config: Config;
  store: RecordingStore;
  sessionId: string;
  log: Logger;
}

export interface RemoteStreamEvents {
  recording: [RecordingEvent, RecordingMetadata];
}

/**
 * One remote MediaStream (msid), the unit of synchronisation: its tracks share one StreamClock and are
 * recorded into one file. Built in one piece once the remote description names its tracks; owns the
 * clock, one ReceivedTrack (werift subscriptions + TrackPipeline) per track and the recorder. Closing
 * stops the tracks (their pipelines flush into the recorder), then finalizes the recording.
 */
export class RemoteStream extends EventEmitter<RemoteStreamEvents> {
  readonly id: string;
  readonly tracks: readonly ReceivedTrack[];
  readonly recorder: StreamRecorder;
  private readonly clock = new StreamClock();
  private closing: Promise<void> | undefined;

  constructor(streamId: string, offers: readonly TrackOffer[], deps: RemoteStreamDeps) {
    super();
    this.id = streamId;
    this.recorder = new StreamRecorder({
      store: deps.store, sessionId: deps.sessionId, streamId, log: deps.log,
      tracks: offers.map((o) => ({
        kind: codecTable[o.codec].kind, codec: o.codec, clockRate: codecTable[o.codec].clockRate, channels: o.codec === "opus" ? 2 : 1,
      })),
      trackStats: () => this.trackStats,
    });
    this.tracks = offers.map((offer, index) => {
      const kind = codecTable[offer.codec].kind;
      return new ReceivedTrack(offer, {
        clock: this.clock.track(codecTable[offer.codec].clockRate, kind),
        jitterDelayMs: kind === "video" ? deps.config.jitterVideoMs : deps.config.jitterAudioMs,
        log: deps.log,
        frame: (frame) => this.recorder.write(index, frame),
      });
    });
    const report = (state: RecordingEvent["state"], meta: RecordingMetadata, error?: Error) =>
      this.emit("recording", { recordingId: meta.id, state, file: meta.file, streamId, error: error?.message }, meta);
    this.recorder.on("started", (m) => report("started", m));
    this.recorder.on("finished", (m) => report("finished", m));
    this.recorder.on("failed", (m, err) => report("failed", m, err));
    this.recorder.on("keyframeNeeded", () => this.tracks.forEach((t) => t.pipeline.wantKeyframe()));
  }

  get trackStats(): TrackStats[] {
    return this.tracks.map((t) => ({ ...t.pipeline.stats }));
  }

  /** Adds its counters to a session's. */
  addTotals(totals: SessionTotals): void {
    for (const { pipeline: { stats } } of this.tracks) {
      totals.packets += stats.packets;
      totals.bytes += stats.bytes;
      totals.lost += stats.lost;
      totals.keyframeRequests += stats.keyframeRequests;
      totals.nacks += stats.nacks;
    }
    totals.framesWritten += this.recorder.progress.frames;
    totals.recordingBytes += this.recorder.progress.bytes;
  }

  get failed(): boolean {
    return this.recorder.meta.state === "failed";
  }

  /** Local time of the last RTP packet on any of its tracks (ms), 0 before the first. */
  get lastMediaMs(): number {
    return Math.max(0, ...this.tracks.map((t) => t.lastMediaMs));
  }

  /** Releases what the jitter buffers may give up by now (called on the session's timer). */
  poll(nowMs: number): void {
    for (const t of this.tracks) t.pipeline.poll(nowMs);
  }

  /** Stops the tracks, then finalizes the recording. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      for (const t of this.tracks) t.close();
      this.closing = this.recorder.close().finally(() => this.removeAllListeners());
    }
    return this.closing;
  }
}
