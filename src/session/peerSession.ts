import { EventEmitter } from "node:events";
import type { FastifyBaseLogger as Logger } from "fastify";
import { RTCPeerConnection, RtcpSrPacket, type MediaStreamTrack, type RTCRtpReceiver, type RtpPacket } from "werift";
import type { Config } from "../config/schema.ts";
import { StreamClock, wallMs } from "../media/clock.ts";
import { TrackPipeline } from "../media/pipeline.ts";
import type { CodecName, TrackStats } from "../media/types.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import type { RecordingStore } from "../recordings/store.ts";
import { StreamRecorder, type RecorderTrack } from "../sinks/ffmpegRecorder/streamRecorder.ts";
import { InvalidSdpError, InvalidStateError, errorMessage } from "../util/errors.ts";
import { chooseCodecs, codecTable } from "./codecs.ts";
import { iceOptions } from "./iceOptions.ts";

export interface IceCandidateJson {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export interface RecordingEvent {
  recordingId: string;
  state: "started" | "finished" | "failed";
  file: string;
  streamId: string;
  error?: string;
}

export interface PeerSessionEvents {
  candidate: [IceCandidateJson | null];
  recording: [RecordingEvent];
  closed: [reason: string];
}

export interface PeerSessionDeps {
  config: Config;
  store: RecordingStore;
  log: Logger;
  codecPreference: readonly CodecName[];
}

interface TrackState {
  track: MediaStreamTrack;
  receiver: RTCRtpReceiver;
  pipeline: TrackPipeline;
  ssrc: number;
}

/** A peer that does not come back within this time after ICE reports "disconnected" is closed. */
const DISCONNECT_GRACE_MS = 10_000;
const POLL_INTERVAL_MS = 20;
const KEYFRAME_INTERVAL_MS = 500;

/**
 * One remote peer: owns its werift RTCPeerConnection, one media pipeline per received track and
 * one recorder per remote MediaStream. Closes on request, on ICE/DTLS failure, or when the peer
 * stays disconnected; closing finalizes the recordings first.
 */
export class PeerSession extends EventEmitter<PeerSessionEvents> {
  readonly id: string;
  readonly log: Logger;
  readonly createdAt = Date.now();
  private pc: RTCPeerConnection | undefined;
  private readonly pendingCandidates: (IceCandidateJson | null)[] = [];
  private remoteApplied = false;
  private readonly tracks: TrackState[] = [];
  private readonly recorders: StreamRecorder[] = [];
  /** One clock per remote MediaStream, so its tracks share the RTCP sender-report offset. */
  private readonly clocks = new Map<string, StreamClock>();
  private pollTimer: NodeJS.Timeout | undefined;
  private disconnectTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  private readonly deps: PeerSessionDeps;

  constructor(id: string, deps: PeerSessionDeps) {
    super();
    this.deps = deps;
    this.id = id;
    this.log = deps.log.child({ sessionId: id });
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  get connectionState(): string {
    return this.pc?.connectionState ?? "new";
  }

  get recordings(): readonly RecordingMetadata[] {
    return this.recorders.map((r) => r.meta);
  }

  get trackStats(): TrackStats[] {
    return this.tracks.map((t) => t.pipeline.stats);
  }

  /** Applies a remote offer and returns the answer SDP (with candidates: werift gathers first). */
  async acceptOffer(sdp: string): Promise<string> {
    if (this.closing) throw new InvalidStateError("session is closed", { sessionId: this.id });
    if (this.pc) throw new InvalidStateError("an offer was already applied to this session", { sessionId: this.id });
    if (!/^v=0/m.test(sdp) || !/^m=/m.test(sdp)) throw new InvalidSdpError("not an SDP offer: missing v= or m= lines");
    const chosen = chooseCodecs(sdp, this.deps.codecPreference);
    const pc = new RTCPeerConnection({
      ...iceOptions(this.deps.config, this.id),
      codecs: {
        audio: chosen.audio ? [codecTable[chosen.audio].params()] : [],
        video: chosen.video ? [codecTable[chosen.video].params()] : [],
      },
    });
    this.pc = pc;
    pc.onIceCandidate.subscribe((c) => {
      if (!this.closing) this.emit("candidate", c ? (c.toJSON() as IceCandidateJson) : null);
    });
    pc.connectionStateChange.subscribe((state) => this.onConnectionState(state));
    pc.ontrack = ({ track, receiver }) => this.addTrack(track, receiver, chosen);

    try {
      await pc.setRemoteDescription({ type: "offer", sdp });
    } catch (err) {
      throw new InvalidSdpError(`the offer was rejected: ${errorMessage(err)}`, { sessionId: this.id });
    }
    this.remoteApplied = true;
    this.createRecorders();
    for (const c of this.pendingCandidates.splice(0)) await this.applyCandidate(c);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (this.closing) throw new InvalidStateError("session closed while answering", { sessionId: this.id });
    this.pollTimer = setInterval(() => this.poll(), POLL_INTERVAL_MS);
    this.log.info({ tracks: this.tracks.map((t) => `${t.track.kind}:${t.pipeline.codec}`) }, "offer answered");
    return pc.localDescription!.sdp;
  }

  /** A remote ICE candidate (null: end of candidates). Held until the offer is applied. */
  async addCandidate(candidate: IceCandidateJson | null): Promise<void> {
    if (this.closing) throw new InvalidStateError("session is closed", { sessionId: this.id });
    if (!this.remoteApplied) {
      this.pendingCandidates.push(candidate);
      return;
    }
    await this.applyCandidate(candidate);
  }

  private async applyCandidate(candidate: IceCandidateJson | null): Promise<void> {
    const pc = this.pc!;
    if (candidate === null || candidate.candidate === "") return; // end of candidates: werift needs nothing
    await pc.addIceCandidate({
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid ?? undefined,
      sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
    });
  }

  private addTrack(track: MediaStreamTrack, receiver: RTCRtpReceiver, chosen: { audio?: CodecName; video?: CodecName }): void {
    const codec = chosen[track.kind as "audio" | "video"];
    if (!codec) return;
    const state: TrackState = {
      track, receiver, ssrc: track.ssrc ?? 0,
      pipeline: new TrackPipeline(
        {
          kind: track.kind as "audio" | "video",
          codec,
          clock: this.streamClock(track.streamId ?? "-").track(codecTable[codec].clockRate, track.kind as "audio" | "video"),
          jitterDelayMs: track.kind === "video" ? this.deps.config.jitterVideoMs : this.deps.config.jitterAudioMs,
          keyframeIntervalMs: KEYFRAME_INTERVAL_MS,
        },
        {
          frame: () => {}, // replaced when the recorder is attached (createRecorders)
          requestKeyframe: () => this.requestKeyframe(state),
        },
      ),
    };
    this.tracks.push(state);
    track.onReceiveRtp.subscribe((packet: RtpPacket) => {
      if (this.closing) return;
      state.ssrc = packet.header.ssrc;
      state.pipeline.push(packet, wallMs());
    });
    receiver.onPacketLost.subscribe(() => {
      state.pipeline.stats.nacks++;
    });
    // werift routes only sender reports here; their NTP time is parsed by the clock, not by werift (WERIFT.md).
    track.onReceiveRtcp.subscribe((packet) => {
      if (this.closing || !(packet instanceof RtcpSrPacket)) return;
      state.pipeline.senderReport(packet.senderInfo.ntpTimestamp, packet.senderInfo.rtpTimestamp, wallMs());
      const clock = state.pipeline.clock;
      this.log.debug({ kind: track.kind, jumpMs: clock.lastJumpMicros / 1000, correctionMs: clock.pendingCorrectionMicros / 1000, untrusted: clock.untrustedReports }, "sender report");
    });
  }

  private streamClock(streamId: string): StreamClock {
    let clock = this.clocks.get(streamId);
    if (!clock) this.clocks.set(streamId, (clock = new StreamClock()));
    return clock;
  }

  private requestKeyframe(state: TrackState): void {
    if (!state.ssrc) return;
    this.log.debug({ ssrc: state.ssrc }, "requesting keyframe (PLI)");
    state.receiver.sendRtcpPLI(state.ssrc).catch((err) => this.log.debug({ err }, "PLI not sent"));
  }

  /** One recorder per remote MediaStream (msid); tracks without a stream share one. */
  private createRecorders(): void {
    const byStream = new Map<string, TrackState[]>();
    for (const t of this.tracks) {
      const key = t.track.streamId ?? "-";
      byStream.set(key, [...(byStream.get(key) ?? []), t]);
    }
    for (const [streamId, states] of byStream) {
      const tracks: RecorderTrack[] = states.map((s) => ({
        kind: s.pipeline.kind,
        codec: s.pipeline.codec,
        clockRate: codecTable[s.pipeline.codec].clockRate,
        channels: s.pipeline.codec === "opus" ? 2 : 1,
      }));
      const recorder = new StreamRecorder({
        store: this.deps.store, sessionId: this.id, streamId, tracks, log: this.log,
        trackStats: () => states.map((s) => ({ ...s.pipeline.stats })),
      });
      const report = (state: RecordingEvent["state"], meta: RecordingMetadata, error?: Error) =>
        this.emit("recording", { recordingId: meta.id, state, file: meta.file, streamId, error: error?.message });
      recorder.on("started", (m) => report("started", m));
      recorder.on("finished", (m) => report("finished", m));
      recorder.on("failed", (m, err) => report("failed", m, err));
      states.forEach((s, index) => s.pipeline.setOutput((frame) => recorder.write(index, frame)));
      this.recorders.push(recorder);
    }
  }

  private poll(): void {
    const now = wallMs();
    for (const t of this.tracks) t.pipeline.poll(now);
  }

  private onConnectionState(state: string): void {
    this.log.info({ state }, "connection state");
    clearTimeout(this.disconnectTimer);
    if (state === "failed") void this.close("ice_failed");
    else if (state === "closed") void this.close("peer_closed");
    else if (state === "disconnected") {
      this.disconnectTimer = setTimeout(() => void this.close("peer_disconnected"), DISCONNECT_GRACE_MS);
    }
  }

  /** Finalizes every recording, then closes the peer connection. Idempotent. */
  close(reason = "closed"): Promise<void> {
    this.closing ??= this.shutdown(reason);
    return this.closing;
  }

  private async shutdown(reason: string): Promise<void> {
    this.log.info({ reason, tracks: this.tracks.map((t) => ({ kind: t.pipeline.kind, ...t.pipeline.stats })) }, "closing session");
    clearInterval(this.pollTimer);
    clearTimeout(this.disconnectTimer);
    for (const t of this.tracks) t.pipeline.flush();
    const pcClosed = this.pc?.close().catch((err) => this.log.warn({ err }, "peer connection close failed"));
    await Promise.all(this.recorders.map((r) => r.close()));
    await pcClosed;
    this.emit("closed", reason);
    this.removeAllListeners();
  }
}
