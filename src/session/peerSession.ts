import { EventEmitter } from "node:events";
import type { FastifyBaseLogger as Logger } from "fastify";
import { RTCPeerConnection, type RTCRtpCodecParameters } from "werift";
import type { Config } from "../config/schema.ts";
import { wallMs } from "../media/clock.ts";
import type { CodecName, MediaKind, TrackStats } from "../media/types.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import type { RecordingStore } from "../recordings/store.ts";
import { InvalidSdpError, InvalidStateError, RecbotError, errorMessage } from "../util/errors.ts";
import { afterGathering } from "./afterGathering.ts";
import { bandwidthHeaderExtensions, RembSender } from "./bandwidth.ts";
import { offersSimulcast, simulcastHeaderExtensions } from "./simulcast.ts";
import { acceptBundleOnly } from "./bundleOnly.ts";
import { CandidateQueue } from "./candidateQueue.ts";
import { drainPackets, DRAINED_REASONS } from "./drain.ts";
import { answeredCodecs, callPreference, chooseCodecs, codecTable, offerCodecs } from "./codecs.ts";
import { iceOptions } from "./iceOptions.ts";
import { MediaBudget, mediaLimitsOf } from "./mediaBudget.ts";
import { trackOffersOf, type TrackOffer } from "./receivedTrack.ts";
import { repairSdp } from "./sdpRepair.ts";
import { selectedPair, type SelectedPair } from "./selectedPair.ts";
import { SessionStreams } from "./sessionStreams.ts";
import { setupTurns } from "./setupTurns.ts";
import { emptyTotals, type CallOptions, type CloseReason, type IceCandidateJson, type OfferOptions, type Session, type SessionEvents, type SessionTotals } from "./session.ts";

export interface PeerSessionDeps {
  config: Config;
  store: RecordingStore;
  log: Logger;
  codecPreference: readonly CodecName[];
  /** Tracks and MediaStreams admitted over all sessions (shared with worker threads); one of its own if absent. */
  budget?: MediaBudget;
}

interface ReceivedCodec {
  codec: CodecName;
  payloadType: number;
}

/** A peer that does not come back within this time after ICE reports "disconnected" is closed. */
const DISCONNECT_GRACE_MS = 10_000;
const POLL_INTERVAL_MS = 20;
const LIMIT_CHECK_INTERVAL_MS = 1000;
/** Closing waits this long at most for a set-up step in progress (gathering against a TURN server that never answers). */
const SETUP_WAIT_MS = 10_000;

/**
 * One remote peer: signaling (offer/answer, trickle ICE), its werift RTCPeerConnection and its lifecycle.
 * The media is owned by one RemoteStream per remote MediaStream (held by SessionStreams), built once the remote
 * description names the tracks. Closes on request, on ICE/DTLS failure, on limits, or when the peer stays disconnected;
 * closing closes the streams (which finalize their recordings), then the peer connection.
 */
export class PeerSession extends EventEmitter<SessionEvents> implements Session {
  readonly id: string;
  readonly log: Logger;
  readonly createdAt = Date.now();
  private pc: RTCPeerConnection | undefined;
  private readonly candidates: CandidateQueue;
  private answerCodecs: Map<string, ReceivedCodec> | undefined;
  /** Tracks announced by werift while a remote description is applied; they become streams after it. */
  private readonly offers: TrackOffer[] = [];
  private readonly streams: SessionStreams;
  private pollTimer: NodeJS.Timeout | undefined;
  private limitTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private disconnectTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private closeReason: CloseReason | undefined;
  /**
   * The offer/answer step in progress (settled, never rejects). Closing waits for it: werift's close() while
   * setLocalDescription still gathers could leave an ICE socket open or the close unfinished.
   */
  private settingUp: Promise<unknown> | undefined;
  /** Echo mode: every received track is sent back on its own transceiver. */
  private echo = false;
  /** Bandwidth feedback to the senders (bandwidth.ts); undefined when maxBitrateKbps is 0. */
  private remb: RembSender | undefined;
  private readonly budget: MediaBudget;
  /** Gives this session's tracks and streams back to the budget (set once the remote description is applied). */
  private releaseMedia: (() => void) | undefined;

  private readonly deps: PeerSessionDeps;

  constructor(id: string, deps: PeerSessionDeps) {
    super();
    this.deps = deps;
    this.id = id;
    this.log = deps.log.child({ sessionId: id });
    this.candidates = new CandidateQueue(id);
    this.budget = deps.budget ?? new MediaBudget(mediaLimitsOf(deps.config));
    this.streams = new SessionStreams({ config: deps.config, store: deps.store, sessionId: id, log: this.log });
    this.streams.on("recording", (event, meta) => {
      this.emit("recording", event, meta);
      // Nothing left to record: end the session rather than keep a peer we ignore.
      if (event.state === "failed" && this.streams.allFailed) void this.close("recording_failed");
    });
    this.streams.on("limit", (reason) => void this.close(reason));
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
    return this.streams.recordings;
  }

  get trackStats(): TrackStats[] {
    return this.streams.trackStats;
  }

  /** The codecs of the tracks being received, e.g. ["video:vp8", "audio:opus"]. */
  get trackCodecs(): string[] {
    return this.streams.trackCodecs;
  }

  totals(): SessionTotals {
    const totals = emptyTotals();
    this.streams.addTotals(totals);
    return totals;
  }

  /** Closes the session unless ICE/DTLS connects within the configured time. */
  startConnectTimer(): void {
    this.connectTimer ??= setTimeout(() => {
      if (this.connectionState !== "connected") void this.close("connect_timeout");
    }, this.deps.config.connectTimeoutSeconds * 1000);
  }

  /** Applies a remote offer and returns the answer SDP (with candidates: werift gathers first). */
  acceptOffer(sdp: string, options: OfferOptions = {}): Promise<string> {
    return this.settle(this.answerOffer(sdp, options));
  }

  private async answerOffer(sdp: string, options: OfferOptions): Promise<string> {
    this.checkFresh();
    sdp = this.remoteSdp(sdp, "offer");
    if (options.echo && /^a=(sendonly|inactive)\s*$/m.test(sdp)) {
      throw new InvalidSdpError("echo mode needs sendrecv media sections; the offer has a sendonly/inactive one");
    }
    this.echo = options.echo === true;
    this.candidates.countInline(sdp.match(/^a=candidate:/gm)?.length ?? 0);
    // The heavy steps below go one per event-loop turn (setupTurns.ts); the session may close meanwhile.
    await setupTurns.next();
    this.checkFresh();
    const chosen = chooseCodecs(sdp, this.deps.codecPreference);
    const pc = this.createPeer(
      {
        audio: chosen.audio ? [codecTable[chosen.audio.name].params(chosen.audio.fmtp)] : [],
        video: chosen.video ? [codecTable[chosen.video.name].params(chosen.video.fmtp)] : [],
      },
      (kind) => (chosen[kind] ? { codec: chosen[kind].name, payloadType: chosen[kind].payloadType } : undefined),
      offersSimulcast(sdp),
    );
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: acceptBundleOnly(sdp) });
    } catch (err) {
      throw new InvalidSdpError(`the offer was rejected: ${errorMessage(err)}`, { sessionId: this.id });
    }
    await this.remoteApplied();
    await setupTurns.next();
    this.checkOpen();
    const answer = await pc.createAnswer();
    await setupTurns.next();
    this.checkOpen();
    await pc.setLocalDescription(answer);
    afterGathering(pc, this.deps.config.udpReceiveBufferBytes, this.log);
    if (this.closeReason === "ice_failed") {
      throw new RecbotError("ice_failed", "ICE failed before the answer was sent: the offer has no usable candidates", { sessionId: this.id });
    }
    this.checkOpen(); // closed for another reason meanwhile (the client left)
    this.startPolling();
    this.log.info({ tracks: this.trackCodecs }, "offer answered");
    return pc.localDescription!.sdp;
  }

  /**
   * recbot as the caller: an offer with recvonly transceivers and one codec per kind (the first of
   * `codecs` that recbot records, else of its preference; see offerCodecs); the answer goes to `acceptAnswer`.
   */
  createOffer(options: CallOptions = {}): Promise<string> {
    return this.settle(this.offer(options));
  }

  private async offer({ audio = 1, video = 1, codecs }: CallOptions): Promise<string> {
    this.checkFresh();
    const preference = callPreference(codecs, this.deps.codecPreference, { audio, video });
    this.budget.checkTransceivers(audio + video, { sessionId: this.id });
    await setupTurns.next();
    this.checkFresh();
    const pc = this.createPeer(offerCodecs(preference), (_kind, mid) => (mid ? this.answerCodecs?.get(mid) : undefined));
    for (let i = 0; i < audio; i++) pc.addTransceiver("audio", { direction: "recvonly" });
    for (let i = 0; i < video; i++) pc.addTransceiver("video", { direction: "recvonly" });
    const offer = await pc.createOffer();
    await setupTurns.next();
    this.checkOpen();
    await pc.setLocalDescription(offer);
    afterGathering(pc, this.deps.config.udpReceiveBufferBytes, this.log);
    if (this.closing) throw new InvalidStateError("session closed while offering", { sessionId: this.id });
    this.log.info({ audio, video }, "offer created");
    return pc.localDescription!.sdp;
  }

  /** The client's answer to `createOffer`: recording starts as with an offer from the client. */
  acceptAnswer(sdp: string): Promise<void> {
    return this.settle(this.applyAnswer(sdp));
  }

  private async applyAnswer(sdp: string): Promise<void> {
    this.checkOpen();
    if (!this.pc || this.pc.signalingState !== "have-local-offer") {
      throw new InvalidStateError("no offer from recbot is waiting for an answer; send {\"type\":\"call\"} first", { sessionId: this.id });
    }
    sdp = this.remoteSdp(sdp, "answer");
    this.answerCodecs = answeredCodecs(this.pc.localDescription!.sdp, sdp);
    await setupTurns.next();
    this.checkOpen();
    try {
      await this.pc.setRemoteDescription({ type: "answer", sdp });
    } catch (err) {
      throw new InvalidSdpError(`the answer was rejected: ${errorMessage(err)}`, { sessionId: this.id });
    }
    await this.remoteApplied();
    this.startPolling();
    this.log.info({ tracks: this.trackCodecs }, "answer applied");
  }

  /** Keeps the offer/answer step in progress where closing can wait for it. */
  private settle<T>(step: Promise<T>): Promise<T> {
    this.settingUp = Promise.all([this.settingUp, step.catch(() => undefined)]);
    return step;
  }

  private checkOpen(): void {
    if (this.closing) throw new InvalidStateError("session is closed", { sessionId: this.id });
  }

  private checkFresh(): void {
    this.checkOpen();
    if (this.pc) throw new InvalidStateError("this session already has an offer/answer exchange", { sessionId: this.id });
  }

  /** The peer connection with recbot's ICE settings; `codecOf` names the codec each received track carries. */
  private createPeer(
    codecs: { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] },
    codecOf: (kind: MediaKind, mid: string | undefined) => ReceivedCodec | undefined,
    simulcast = false,
  ): RTCPeerConnection {
    const extensions = bandwidthHeaderExtensions();
    if (simulcast) extensions.video.push(...simulcastHeaderExtensions());
    const pc = new RTCPeerConnection({ ...iceOptions(this.deps.config, this.id), codecs, headerExtensions: extensions });
    const { maxBitrateKbps } = this.deps.config;
    if (maxBitrateKbps > 0) this.remb = new RembSender(maxBitrateKbps * 1000, (err) => this.log.debug({ err }, "REMB not sent"));
    this.pc = pc;
    pc.onIceCandidate.subscribe((c) => {
      if (!this.closing) this.emit("candidate", c ? (c.toJSON() as IceCandidateJson) : null);
    });
    pc.connectionStateChange.subscribe((state) => this.onConnectionState(state));
    pc.ontrack = (event) => {
      const codec = codecOf(event.track.kind as MediaKind, event.transceiver.mid ?? undefined);
      if (!codec) return;
      this.offers.push(...trackOffersOf(event, codec, this.echo));
      if (event.track.kind === "video") this.remb?.add(event.receiver, event.track.ssrc);
    };
    return pc;
  }

  /** A remote SDP checked (shape, media section limits) and repaired where browsers send what werift cannot parse (sdpRepair.ts). */
  private remoteSdp(sdp: string, type: "offer" | "answer"): string {
    if (!/^v=0/m.test(sdp) || !/^m=/m.test(sdp)) throw new InvalidSdpError(`not an SDP ${type}: missing v= or m= lines`);
    this.budget.checkMediaSections(sdp, { sessionId: this.id });
    const { sdp: repaired, repairs } = repairSdp(sdp);
    if (repairs.length) this.log.info({ repairs: repairs.slice(0, 20), count: repairs.length }, "remote SDP repaired");
    return repaired;
  }

  private async remoteApplied(): Promise<void> {
    // Every track and MediaStream (= ffmpeg process) is known now: admit them or refuse the offer.
    if (this.closing) throw new InvalidStateError("session closed while applying the remote description", { sessionId: this.id });
    this.releaseMedia = this.budget.admit(this.offers.length, new Set(this.offers.map((o) => o.streamId)).size, { sessionId: this.id });
    this.streams.create(this.offers.splice(0));
    await this.candidates.open(this.pc!);
  }

  private startPolling(): void {
    this.pollTimer = setInterval(() => this.streams.poll(wallMs()), POLL_INTERVAL_MS);
    this.limitTimer = setInterval(() => this.checkLimits(), LIMIT_CHECK_INTERVAL_MS);
    this.startConnectTimer();
  }

  /** A remote ICE candidate (null: end of candidates). Held until the offer is applied. */
  async addCandidate(candidate: IceCandidateJson | null): Promise<void> {
    if (this.closing) throw new InvalidStateError("session is closed", { sessionId: this.id });
    await this.candidates.add(candidate);
  }

  /** Ends the session when its peer went quiet or a recording reached its configured duration or size. */
  private checkLimits(): void {
    const reason = this.streams.limitReached(wallMs());
    if (reason) void this.close(reason);
  }

  private onConnectionState(state: string): void {
    this.log.info({ state, pair: state === "connected" ? this.selectedPair : undefined }, "connection state");
    clearTimeout(this.disconnectTimer);
    if (state === "connected") this.remb?.start();
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
  close(reason: CloseReason = "closed"): Promise<void> {
    this.closeReason ??= reason;
    this.closing ??= this.shutdown(reason);
    return this.closing;
  }

  private async shutdown(reason: CloseReason): Promise<void> {
    // The client is done: what it sent before may still wait in the socket (drain.ts). Timers go on meanwhile.
    const drainStart = performance.now();
    const drained = DRAINED_REASONS.has(reason) && this.connectionState === "connected" ? await drainPackets(() => this.totals().packets) : 0;
    const drainMs = drained > 0 ? Math.round(performance.now() - drainStart) : undefined;
    this.log.info({ reason, drained: drained || undefined, drainMs, tracks: this.streams.trackSummary }, "closing session");
    clearInterval(this.pollTimer);
    clearInterval(this.limitTimer);
    clearTimeout(this.connectTimer);
    clearTimeout(this.disconnectTimer);
    this.remb?.close();
    // The streams stop taking packets and flush at once; their recordings finalize while the peer closes.
    const streamsClosed = this.streams.close();
    // Closing ICE/DTLS costs about as much as opening them: paced the same way (a burst of DELETEs).
    // A set-up step still running ends at its next check (it sees `closing`); only then may werift close.
    const pcClosed = (async () => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => (timer = setTimeout(resolve, SETUP_WAIT_MS, "late")));
      if ((await Promise.race([this.settingUp, late])) === "late") this.log.warn({ waitedMs: SETUP_WAIT_MS }, "set-up step still running; closing the peer connection anyway");
      clearTimeout(timer);
      if (!this.pc) return;
      await setupTurns.next();
      await this.pc.close();
    })().catch((err) => this.log.warn({ err }, "peer connection close failed"));
    await streamsClosed;
    await pcClosed;
    this.releaseMedia?.();
    this.emit("closed", reason);
    this.removeAllListeners();
  }
}
