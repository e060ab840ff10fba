import { EventEmitter } from "node:events";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { Config } from "../config/schema.ts";
import { wallMs } from "../media/clock.ts";
import { LayerSelector } from "../media/layerSelector.ts";
import { StreamLimit } from "../media/streamLimit.ts";
import { SyncHold } from "../media/syncHold.ts";
import type { Frame, RtpFrame, TrackStats } from "../media/types.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import type { RecordingStore } from "../recordings/store.ts";
import { recorderFfmpeg } from "../sinks/ffmpegRecorder/binary.ts";
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
  /** A frame would have taken the recording past maxRecordingSeconds or maxRecordingBytes (it was not written). */
  limit: ["max_duration" | "max_size"];
}

/**
 * One remote MediaStream (msid), the unit of synchronisation: its tracks are timed together (SyncHold) and
 * recorded into one file. Built in one piece once the remote description names its tracks; owns one
 * ReceivedTrack (werift subscriptions + TrackPipeline) per track, the SyncHold and the recorder. Closing
 * stops the tracks (their pipelines flush through the hold into the recorder), then finalizes the recording.
 */
export class RemoteStream extends EventEmitter<RemoteStreamEvents> {
  readonly id: string;
  readonly tracks: readonly ReceivedTrack[];
  readonly recorder: StreamRecorder;
  private readonly sync: SyncHold;
  /** The recording limits, checked on every frame (a once-a-second check lets a burst run past them). */
  private readonly limit: StreamLimit;
  private readonly log: Logger;
  private decisionLogged = false;
  /** File track index of each of `tracks` (simulcast layers of one source share one). */
  private readonly sourceOf: number[] = [];
  /** Per track: the LayerSelector its frames go through, for simulcast layers. */
  private readonly selectorOf: (LayerSelector | undefined)[] = [];
  private closing: Promise<void> | undefined;

  constructor(streamId: string, offers: readonly TrackOffer[], deps: RemoteStreamDeps) {
    super();
    this.id = streamId;
    this.log = deps.log;
    this.limit = new StreamLimit(deps.config.maxRecordingSeconds, deps.config.maxRecordingBytes, (reason) => this.emit("limit", reason));
    // One file track per source: simulcast layers (same mid, a rid each) share one, fed by a LayerSelector.
    const sources: TrackOffer[][] = [];
    for (const offer of offers) {
      const same = offer.rid !== undefined ? sources.find((s) => s[0].rid !== undefined && s[0].mid === offer.mid) : undefined;
      if (same) same.push(offer);
      else sources.push([offer]);
    }
    const ordered = sources.flat();
    sources.forEach((layers, index) => {
      const selector = layers.length > 1 ? this.layerSelector(layers, index, deps) : undefined;
      for (const _ of layers) {
        this.sourceOf.push(index);
        this.selectorOf.push(selector);
      }
    });
    this.recorder = new StreamRecorder({
      store: deps.store, sessionId: deps.sessionId, streamId, log: deps.log,
      tracks: sources.map(([o]) => ({
        kind: codecTable[o.codec].kind, codec: o.codec, clockRate: codecTable[o.codec].clockRate, channels: o.codec === "opus" ? 2 : 1,
      })),
      trackStats: () => this.trackStats,
      ffmpegPath: recorderFfmpeg(deps.config.ffmpegPath).path,
    });
    // Every received track (each simulcast layer too) is timed by its own RTP clock and sender reports; a layer's
    // frames then go through its source's LayerSelector.
    this.sync = new SyncHold({
      clockRates: ordered.map((o) => codecTable[o.codec].clockRate),
      waitMs: deps.config.syncWaitMs,
      out: (index, frame) => {
        const selector = this.selectorOf[index];
        if (!selector) return this.write(this.sourceOf[index], frame);
        const now = wallMs();
        selector.push(ordered[index].rid!, frame, now);
        selector.poll(now);
      },
    });
    this.tracks = ordered.map((offer, index) => {
      const kind = codecTable[offer.codec].kind;
      return new ReceivedTrack(offer, {
        jitterDelayMs: kind === "video" ? deps.config.jitterVideoMs : deps.config.jitterAudioMs,
        log: deps.log,
        frame: (frame) => this.syncFrame(index, frame),
        senderReport: (ntp, rtp, nowMs) => {
          this.sync.senderReport(index, ntp, this.tracks[index].pipeline.mapRtpTimestamp(rtp), nowMs * 1000);
          const clock = this.sync.clocks[index];
          this.log.debug({ kind, streamId, reports: clock.senderReports, untrusted: clock.untrustedReports }, "sender report");
          this.logDecision();
        },
      });
    });
    const report = (state: RecordingEvent["state"], meta: RecordingMetadata, error?: Error) =>
      this.emit("recording", { recordingId: meta.id, state, file: meta.file, streamId, error: error?.message }, meta);
    this.recorder.on("started", (m) => report("started", m));
    this.recorder.on("finished", (m) => report("finished", m));
    this.recorder.on("failed", (m, err) => report("failed", m, err));
    this.recorder.on("keyframeNeeded", () => this.tracks.forEach((t) => t.pipeline.wantKeyframe()));
  }

  /** Records one of a source's simulcast layers into file track `index`; the sidecar lists the switches. */
  private layerSelector(layers: TrackOffer[], index: number, deps: RemoteStreamDeps): LayerSelector {
    let firstPts: number | undefined;
    return new LayerSelector(layers.map((l) => l.rid!), deps.config.simulcastLayer, {
      frame: (frame) => this.write(index, frame),
      requestKeyframe: (rid) => this.tracks.find((t) => t.rid === rid && this.sourceOf[this.tracks.indexOf(t)] === index)?.requestKeyframe(),
      switched: (rid, frame) => {
        firstPts ??= frame.ptsMicros;
        const fromMs = Math.round((frame.ptsMicros - firstPts) / 1000);
        (this.recorder.meta.layers ??= []).push({ rid, fromMs });
        deps.log.info({ streamId: this.id, rid, fromMs }, "recording simulcast layer");
      },
    });
  }

  /** Per file track: a source's simulcast layers are summed (all are received; one is written). */
  get trackStats(): TrackStats[] {
    const out: TrackStats[] = [];
    this.tracks.forEach((t, i) => {
      const sum = out[this.sourceOf[i]];
      if (!sum) out[this.sourceOf[i]] = { ...t.pipeline.stats };
      else for (const k of Object.keys(sum) as (keyof TrackStats)[]) sum[k] += t.pipeline.stats[k];
    });
    return out;
  }

  /** Adds its counters to a session's. */
  addTotals(totals: SessionTotals): void {
    for (const { pipeline: { stats } } of this.tracks) {
      totals.packets += stats.packets;
      totals.bytes += stats.bytes;
      totals.lost += stats.lost;
      totals.keyframeRequests += stats.keyframeRequests;
      totals.nacks += stats.nacks;
      totals.framesDropped += stats.framesDropped;
      totals.framesTooLarge += stats.framesTooLarge;
      totals.framesInvalid += stats.framesInvalid;
      totals.framesBackwards += stats.framesBackwards;
      totals.timelineJumps += stats.timelineJumps;
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

  /** Into the recorder's file track `index`, unless the frame would take the recording past a limit. */
  private write(index: number, frame: Frame): void {
    if (this.limit.pass(frame)) this.recorder.write(index, frame);
  }

  private syncFrame(index: number, frame: RtpFrame): void {
    this.sync.frame(index, frame);
    this.logDecision();
  }

  /** Says once how the stream's timing was decided (by sender reports or arrival, after how long). */
  private logDecision(): void {
    const decision = this.sync.decision;
    if (!decision || this.decisionLogged) return;
    this.decisionLogged = true;
    this.log.info({ streamId: this.id, timing: decision.tracks, heldFrames: decision.heldFrames, heldMs: Math.round(decision.heldMicros / 1000) }, "stream timing decided");
  }

  /** Releases what the jitter buffers and the sync hold may give up by now (called on the session's timer). */
  poll(nowMs: number): void {
    for (const t of this.tracks) t.pipeline.poll(nowMs);
    this.sync.poll(nowMs * 1000);
    this.logDecision();
  }

  /** Stops the tracks, then finalizes the recording. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      for (const t of this.tracks) t.close();
      this.sync.flush(wallMs() * 1000);
      for (const s of new Set(this.selectorOf)) s?.flush();
      this.closing = this.recorder.close().finally(() => this.removeAllListeners());
    }
    return this.closing;
  }
}
