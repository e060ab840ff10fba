import { EventEmitter } from "node:events";
import type { FastifyBaseLogger as Logger } from "fastify";
import { RTCPeerConnection, RtcpSrPacket, type MediaStreamTrack, type RTCRtpCodecParameters, type RTCRtpReceiver, type RTCRtpTransceiver, type RtpPacket } from "werift";
import type { Config } from "../config/schema.ts";
import { StreamClock, wallMs } from "../media/clock.ts";
import { TrackPipeline } from "../media/pipeline.ts";
import type { CodecName, MediaKind, TrackStats } from "../media/types.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import type { RecordingStore } from "../recordings/store.ts";
import { StreamRecorder, type RecorderTrack } from "../sinks/ffmpegRecorder/streamRecorder.ts";
import { InvalidSdpError, InvalidStateError, RecbotError, UnsupportedCodecError, errorMessage } from "../util/errors.ts";
import { acceptBundleOnly } from "./bundleOnly.ts";
import { answeredCodecs, chooseCodecs, codecTable, offerCodecs } from "./codecs.ts";
import { EchoForwarder } from "./echoForwarder.ts";
import { iceOptions } from "./iceOptions.ts";
import { selectedPair, type SelectedPair } from "./selectedPair.ts";
import { growReceiveBuffers } from "./socketBuffers.ts";
import { ignoreRepeatedHelloVerify } from "./dtlsRepeats.ts";

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
  recording: [RecordingEvent, RecordingMetadata];
  closed: [reason: string];
}

export interface PeerSessionDeps {
  config: Config;
  store: RecordingStore;
  log: Logger;
  codecPreference: readonly CodecName[];
}

/** Counters of one session, summed by the registry for /metrics. */
export interface SessionTotals {
  packets: number;
  bytes: number;
  lost: number;
  nacks: number;
  keyframeRequests: number;
  framesWritten: number;
  recordingBytes: number;
}

interface TrackState {
  track: MediaStreamTrack;
  /** The remote MediaStream (msid) the track belongs to, "-" when the offer names none. */
  streamId: string;
  receiver: RTCRtpReceiver;
  pipeline: TrackPipeline;
  ssrc: number;
  /** Packets with a payload type other than the negotiated one (dropped). */
  foreignPackets: number;
  echo?: EchoForwarder;
}

export interface OfferOptions {
  /** Send each received track back on the same connection (the offer's m-lines must be sendrecv). */
  echo?: boolean;
}

interface ReceivedCodec {
  codec: CodecName;
  payloadType: number;
}

/** A peer that does not come back within this time after ICE reports "disconnected" is closed. */
const DISCONNECT_GRACE_MS = 10_000;
const POLL_INTERVAL_MS = 20;
const KEYFRAME_INTERVAL_MS = 500;
const LIMIT_CHECK_INTERVAL_MS = 1000;
const MAX_PENDING_CANDIDATES = 100;
/** The kernel's cap on receive buffers is the same for every session: say so once per process. */
let cappedWarningLogged = false;

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
  private remoteDescriptionSet = false;
  private answerCodecs: Map<string, ReceivedCodec> | undefined;
  private readonly tracks: TrackState[] = [];
  private readonly recorders: StreamRecorder[] = [];
  /** One clock per remote MediaStream, so its tracks share the RTCP sender-report offset. */
  private readonly clocks = new Map<string, StreamClock>();
  private pollTimer: NodeJS.Timeout | undefined;
  private limitTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private disconnectTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private lastMediaMs = 0;
  /** Echo mode: every received track is sent back on its own transceiver. */
  private echo = false;

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

  /** The ICE candidate pair in use (undefined until connected). */
  get selectedPair(): SelectedPair | undefined {
    return this.pc ? selectedPair(this.pc) : undefined;
  }

  get recordings(): readonly RecordingMetadata[] {
    return this.recorders.map((r) => r.meta);
  }

  get trackStats(): TrackStats[] {
    return this.tracks.map((t) => t.pipeline.stats);
  }

  /** The codecs of the tracks being received, e.g. ["video:vp8", "audio:opus"]. */
  get trackCodecs(): string[] {
    return this.tracks.map((t) => `${t.pipeline.kind}:${t.pipeline.codec}`);
  }

  totals(): SessionTotals {
    const totals: SessionTotals = { packets: 0, bytes: 0, lost: 0, nacks: 0, keyframeRequests: 0, framesWritten: 0, recordingBytes: 0 };
    for (const t of this.tracks) {
      totals.packets += t.pipeline.stats.packets;
      totals.bytes += t.pipeline.stats.bytes;
      totals.lost += t.pipeline.stats.lost;
      totals.keyframeRequests += t.pipeline.stats.keyframeRequests;
      totals.nacks += t.pipeline.stats.nacks;
    }
    for (const r of this.recorders) {
      totals.framesWritten += r.progress.frames;
      totals.recordingBytes += r.progress.bytes;
    }
    return totals;
  }

  /** Closes the session unless ICE/DTLS connects within the configured time. */
  startConnectTimer(): void {
    this.connectTimer ??= setTimeout(() => {
      if (this.connectionState !== "connected") void this.close("connect_timeout");
    }, this.deps.config.connectTimeoutSeconds * 1000);
  }

  /** Applies a remote offer and returns the answer SDP (with candidates: werift gathers first). */
  async acceptOffer(sdp: string, options: OfferOptions = {}): Promise<string> {
    this.checkFresh();
    if (!/^v=0/m.test(sdp) || !/^m=/m.test(sdp)) throw new InvalidSdpError("not an SDP offer: missing v= or m= lines");
    if (options.echo && /^a=(sendonly|inactive)\s*$/m.test(sdp)) {
      throw new InvalidSdpError("echo mode needs sendrecv media sections; the offer has a sendonly/inactive one");
    }
    this.echo = options.echo === true;
    const chosen = chooseCodecs(sdp, this.deps.codecPreference);
    const pc = this.createPeer(
      {
        audio: chosen.audio ? [codecTable[chosen.audio.name].params(chosen.audio.fmtp)] : [],
        video: chosen.video ? [codecTable[chosen.video.name].params(chosen.video.fmtp)] : [],
      },
      (kind) => (chosen[kind] ? { codec: chosen[kind].name, payloadType: chosen[kind].payloadType } : undefined),
    );
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: acceptBundleOnly(sdp) });
    } catch (err) {
      throw new InvalidSdpError(`the offer was rejected: ${errorMessage(err)}`, { sessionId: this.id });
    }
    await this.remoteApplied();
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.afterGathering(pc);
    if (this.closing) {
      throw new RecbotError("ice_failed", "ICE failed before the answer was sent: the offer has no usable candidates", { sessionId: this.id });
    }
    this.startPolling();
    this.log.info({ tracks: this.tracks.map((t) => `${t.track.kind}:${t.pipeline.codec}`) }, "offer answered");
    return pc.localDescription!.sdp;
  }

  /**
   * recbot as the caller: an offer with recvonly transceivers and one codec per kind (the first of
   * `codecs` that recbot records, else of its preference; see offerCodecs); the answer goes to `acceptAnswer`.
   */
  async createOffer({ audio = 1, video = 1, codecs }: { audio?: number; video?: number; codecs?: readonly CodecName[] } = {}): Promise<string> {
    this.checkFresh();
    const preference = codecs ? codecs.filter((c) => this.deps.codecPreference.includes(c)) : this.deps.codecPreference;
    for (const kind of ["audio", "video"] as const) {
      if ((kind === "audio" ? audio : video) > 0 && !preference.some((c) => codecTable[c].kind === kind)) {
        throw new UnsupportedCodecError(`no ${kind} codec left to offer: asked for ${codecs?.join(", ")}, recbot records ${this.deps.codecPreference.join(", ")}`);
      }
    }
    const pc = this.createPeer(offerCodecs(preference), (_kind, mid) => (mid ? this.answerCodecs?.get(mid) : undefined));
    for (let i = 0; i < audio; i++) pc.addTransceiver("audio", { direction: "recvonly" });
    for (let i = 0; i < video; i++) pc.addTransceiver("video", { direction: "recvonly" });
    await pc.setLocalDescription(await pc.createOffer());
    this.afterGathering(pc);
    if (this.closing) throw new InvalidStateError("session closed while offering", { sessionId: this.id });
    this.log.info({ audio, video }, "offer created");
    return pc.localDescription!.sdp;
  }

  /** The client's answer to `createOffer`: recording starts as with an offer from the client. */
  async acceptAnswer(sdp: string): Promise<void> {
    if (this.closing) throw new InvalidStateError("session is closed", { sessionId: this.id });
    if (!this.pc || this.pc.signalingState !== "have-local-offer") {
      throw new InvalidStateError("no offer from recbot is waiting for an answer; send {\"type\":\"call\"} first", { sessionId: this.id });
    }
    if (!/^v=0/m.test(sdp) || !/^m=/m.test(sdp)) throw new InvalidSdpError("not an SDP answer: missing v= or m= lines");
    this.answerCodecs = answeredCodecs(this.pc.localDescription!.sdp, sdp);
    try {
      await this.pc.setRemoteDescription({ type: "answer", sdp });
    } catch (err) {
      throw new InvalidSdpError(`the answer was rejected: ${errorMessage(err)}`, { sessionId: this.id });
    }
    await this.remoteApplied();
    this.startPolling();
    this.log.info({ tracks: this.tracks.map((t) => `${t.track.kind}:${t.pipeline.codec}`) }, "answer applied");
  }

  private checkFresh(): void {
    if (this.closing) throw new InvalidStateError("session is closed", { sessionId: this.id });
    if (this.pc) throw new InvalidStateError("this session already has an offer/answer exchange", { sessionId: this.id });
  }

  /** The peer connection with recbot's ICE settings; `codecOf` names the codec each received track carries. */
  private createPeer(
    codecs: { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] },
    codecOf: (kind: MediaKind, mid: string | undefined) => ReceivedCodec | undefined,
  ): RTCPeerConnection {
    const pc = new RTCPeerConnection({ ...iceOptions(this.deps.config, this.id), codecs });
    this.pc = pc;
    pc.onIceCandidate.subscribe((c) => {
      if (!this.closing) this.emit("candidate", c ? (c.toJSON() as IceCandidateJson) : null);
    });
    pc.connectionStateChange.subscribe((state) => this.onConnectionState(state));
    // werift leaves track.streamId unset for remote tracks; the msid is on the event's streams / the receiver.
    pc.ontrack = ({ track, receiver, streams, transceiver }) => {
      const codec = codecOf(track.kind as MediaKind, transceiver.mid ?? undefined);
      const streamId = streams[0]?.id ?? receiver.remoteStreamId ?? track.streamId ?? "-";
      if (codec) this.addTrack(track, receiver, streamId, codec, this.echo ? transceiver : undefined);
    };
    return pc;
  }

  private async remoteApplied(): Promise<void> {
    this.remoteDescriptionSet = true;
    this.createRecorders();
    for (const c of this.pendingCandidates.splice(0)) await this.applyCandidate(c);
  }

  /**
   * After gathering werift's sockets and DTLS transports exist: give the sockets room to ride out event-loop pauses
   * (socketBuffers.ts) and keep a repeated HelloVerifyRequest from failing the handshake (dtlsRepeats.ts).
   */
  private afterGathering(pc: RTCPeerConnection): void {
    ignoreRepeatedHelloVerify(pc);
    const wanted = this.deps.config.udpReceiveBufferBytes;
    if (!wanted) return;
    const { sockets, grantedBytes } = growReceiveBuffers(pc, wanted);
    if (sockets && grantedBytes < wanted && !cappedWarningLogged) {
      cappedWarningLogged = true;
      this.log.warn(
        { wantedBytes: wanted, grantedBytes },
        `the kernel capped UDP receive buffers at ${grantedBytes} bytes: short pauses will drop packets under load; as root: sysctl -w net.core.rmem_max=${wanted}`,
      );
    }
  }

  private startPolling(): void {
    this.pollTimer = setInterval(() => this.poll(), POLL_INTERVAL_MS);
    this.limitTimer = setInterval(() => this.checkLimits(), LIMIT_CHECK_INTERVAL_MS);
    this.startConnectTimer();
  }

  /** A remote ICE candidate (null: end of candidates). Held until the offer is applied. */
  async addCandidate(candidate: IceCandidateJson | null): Promise<void> {
    if (this.closing) throw new InvalidStateError("session is closed", { sessionId: this.id });
    if (!this.remoteDescriptionSet) {
      if (this.pendingCandidates.length >= MAX_PENDING_CANDIDATES) {
        throw new RecbotError("too_many_candidates", `more than ${MAX_PENDING_CANDIDATES} candidates before the offer`, { sessionId: this.id });
      }
      this.pendingCandidates.push(candidate);
      return;
    }
    await this.applyCandidate(candidate);
  }

  private async applyCandidate(candidate: IceCandidateJson | null): Promise<void> {
    const pc = this.pc!;
    if (candidate === null || candidate.candidate === "") return; // end of candidates: werift needs nothing
    try {
      await pc.addIceCandidate({
        candidate: candidate.candidate,
        sdpMid: candidate.sdpMid ?? undefined,
        sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
      });
    } catch (err) {
      throw new RecbotError("invalid_candidate", `the candidate was rejected: ${errorMessage(err)}`, { sessionId: this.id });
    }
  }

  private addTrack(
    track: MediaStreamTrack, receiver: RTCRtpReceiver, streamId: string, { codec, payloadType }: ReceivedCodec, echoOn?: RTCRtpTransceiver,
  ): void {
    const state: TrackState = {
      track, receiver, streamId, ssrc: track.ssrc ?? 0, foreignPackets: 0,
      pipeline: new TrackPipeline(
        {
          kind: track.kind as "audio" | "video",
          codec,
          clock: this.streamClock(streamId).track(codecTable[codec].clockRate, track.kind as "audio" | "video"),
          jitterDelayMs: track.kind === "video" ? this.deps.config.jitterVideoMs : this.deps.config.jitterAudioMs,
          keyframeIntervalMs: KEYFRAME_INTERVAL_MS,
        },
        {
          frame: () => {}, // replaced when the recorder is attached (createRecorders)
          requestKeyframe: () => this.requestKeyframe(state),
        },
      ),
    };
    if (echoOn) state.echo = new EchoForwarder(echoOn, () => this.requestKeyframe(state));
    this.tracks.push(state);
    track.onReceiveRtp.subscribe((packet: RtpPacket) => {
      if (this.closing) return;
      if (packet.header.payloadType !== payloadType) {
        // Another codec than negotiated: never feed it to this codec's depacketizer.
        if (state.foreignPackets++ === 0) {
          this.log.warn({ kind: track.kind, expected: payloadType, got: packet.header.payloadType }, "peer sends an unexpected payload type; dropping it");
        }
        return;
      }
      const now = wallMs();
      state.ssrc = packet.header.ssrc;
      this.lastMediaMs = now;
      state.echo?.forward(packet);
      state.pipeline.push(packet, now);
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
      const key = t.streamId;
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
        this.emit("recording", { recordingId: meta.id, state, file: meta.file, streamId, error: error?.message }, meta);
      recorder.on("started", (m) => report("started", m));
      recorder.on("finished", (m) => report("finished", m));
      recorder.on("failed", (m, err) => {
        report("failed", m, err);
        // Nothing left to record: end the session rather than keep a peer we ignore.
        if (this.recorders.every((r) => r.meta.state === "failed")) void this.close("recording_failed");
      });
      recorder.on("keyframeNeeded", () => states.forEach((s) => s.pipeline.wantKeyframe()));
      states.forEach((s, index) => s.pipeline.setOutput((frame) => recorder.write(index, frame)));
      this.recorders.push(recorder);
    }
  }

  private poll(): void {
    const now = wallMs();
    for (const t of this.tracks) t.pipeline.poll(now);
  }

  /** Recordings over the configured duration or size are finalized and the session ends. */
  private checkLimits(): void {
    const { maxRecordingSeconds, maxRecordingBytes, peerTimeoutSeconds } = this.deps.config;
    if (this.lastMediaMs > 0 && wallMs() - this.lastMediaMs > peerTimeoutSeconds * 1000) return void this.close("peer_timeout");
    for (const r of this.recorders) {
      const { durationMs, bytes } = r.progress;
      if (durationMs >= maxRecordingSeconds * 1000) return void this.close("max_duration");
      if (bytes >= maxRecordingBytes) return void this.close("max_size");
    }
  }

  private onConnectionState(state: string): void {
    this.log.info({ state, pair: state === "connected" ? this.selectedPair : undefined }, "connection state");
    clearTimeout(this.disconnectTimer);
    if (state === "failed") {
      // werift reports a failed DTLS handshake as a failed connection too; say which one it was.
      const iceUp = ["connected", "completed"].includes(this.pc?.iceConnectionState ?? "");
      void this.close(iceUp ? "dtls_failed" : "ice_failed");
    } else if (state === "closed") void this.close("peer_closed");
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
    clearInterval(this.limitTimer);
    clearTimeout(this.connectTimer);
    clearTimeout(this.disconnectTimer);
    for (const t of this.tracks) {
      t.echo?.close();
      t.pipeline.flush();
    }
    const pcClosed = this.pc?.close().catch((err) => this.log.warn({ err }, "peer connection close failed"));
    await Promise.all(this.recorders.map((r) => r.close()));
    await pcClosed;
    this.emit("closed", reason);
    this.removeAllListeners();
  }
}
