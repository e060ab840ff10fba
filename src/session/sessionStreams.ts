import { EventEmitter } from "node:events";
import type { TrackStats } from "../media/types.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import type { TrackOffer } from "./receivedTrack.ts";
import { RemoteStream, type RemoteStreamDeps, type RemoteStreamEvents } from "./remoteStream.ts";
import type { CloseReason, SessionTotals } from "./session.ts";

/**
 * The remote MediaStreams of one session, a RemoteStream each, and what the session asks of them together:
 * their recordings and counters, the poll of their buffers, and whether a limit ends the session. The streams'
 * events come out of it unchanged.
 */
export class SessionStreams extends EventEmitter<RemoteStreamEvents> {
  private readonly streams: RemoteStream[] = [];
  private readonly deps: RemoteStreamDeps;

  constructor(deps: RemoteStreamDeps) {
    super();
    this.deps = deps;
  }

  /** One RemoteStream per remote MediaStream (msid), with all its tracks; tracks without a stream share one. */
  create(offers: readonly TrackOffer[]): void {
    const byStream = new Map<string, TrackOffer[]>();
    for (const offer of offers) byStream.set(offer.streamId, [...(byStream.get(offer.streamId) ?? []), offer]);
    for (const [streamId, streamOffers] of byStream) {
      const stream = new RemoteStream(streamId, streamOffers, this.deps);
      stream.on("recording", (event, meta) => this.emit("recording", event, meta));
      stream.on("limit", (reason) => this.emit("limit", reason));
      this.streams.push(stream);
    }
  }

  get recordings(): RecordingMetadata[] {
    return this.streams.map((s) => s.recorder.meta);
  }

  get trackStats(): TrackStats[] {
    return this.streams.flatMap((s) => s.tracks.map((t) => t.pipeline.stats));
  }

  /** The codecs of the tracks being received, e.g. ["video:vp8", "audio:opus"]. */
  get trackCodecs(): string[] {
    return this.streams.flatMap((s) => s.tracks.map((t) => `${t.pipeline.kind}:${t.pipeline.codec}`));
  }

  /** Each track's kind and counters, for the session's closing log line. */
  get trackSummary(): object[] {
    return this.streams.flatMap((s) => s.tracks.map((t) => ({ kind: t.kind, ...t.pipeline.stats })));
  }

  addTotals(totals: SessionTotals): void {
    for (const s of this.streams) s.addTotals(totals);
  }

  /** True when every recording has failed: nothing is left to record. */
  get allFailed(): boolean {
    return this.streams.every((s) => s.failed);
  }

  poll(nowMs: number): void {
    for (const s of this.streams) s.poll(nowMs);
  }

  /** Why the session must end now (no media for peerTimeoutSeconds, a recording over its duration or size), if it must. */
  limitReached(nowMs: number): CloseReason | undefined {
    const { maxRecordingSeconds, maxRecordingBytes, peerTimeoutSeconds } = this.deps.config;
    const lastMediaMs = Math.max(0, ...this.streams.map((s) => s.lastMediaMs));
    if (lastMediaMs > 0 && nowMs - lastMediaMs > peerTimeoutSeconds * 1000) return "peer_timeout";
    if (this.streams.some((s) => s.recorder.progress.durationMs >= maxRecordingSeconds * 1000)) return "max_duration";
    if (this.streams.some((s) => s.recorder.progress.bytes >= maxRecordingBytes)) return "max_size";
    return undefined;
  }

  /** Closes every stream: they stop taking packets and flush at once, then finalize their recordings. */
  async close(): Promise<void> {
    await Promise.all(this.streams.map((s) => s.close()));
  }
}
