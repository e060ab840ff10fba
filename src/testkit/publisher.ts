import { statSync } from "node:fs";
import path from "node:path";
import { MediaStream, MediaStreamTrack, type PeerConfig, type RTCPeerConnection, type RtpPacket } from "werift";
import { wallMs } from "../media/clock.ts";
import { isLoopback } from "../session/iceOptions.ts";
import { selectedPair, type SelectedPair } from "../session/selectedPair.ts";
import type { Clip } from "./clip.ts";
import { sendClip, type SendStats, type SentFrame } from "./pacer.ts";
import { clientPeer, correctSenderReports, waitConnected, type ClientIceOptions } from "./peer.ts";
import { WsClient } from "./wsClient.ts";

export interface PublishResult {
  /** The signaling socket: every message recbot sent, and its close code. */
  client: WsClient;
  sessionId: string;
  offerToAnswerMs: number;
  /** Offer sent → the client's peer connection is "connected" (ICE + DTLS). */
  offerToConnectedMs: number;
  /** The client's selected ICE candidate pair. */
  pair: SelectedPair | undefined;
  answerSdp: string;
  offerToRecordingStartedMs: number;
  /** Until the file on disk holds more than its header: the first keyframe has been written. */
  offerToKeyframeOnDiskMs: number;
  framesSent: SendStats;
  /** From sending `bye` until the `recording: finished` (or failed) message: the file is final. */
  byeToFinishedMs: number;
  /** What recbot asked of this publisher: NACKed packets' feedback messages, PLIs, retransmitted packets. */
  feedback: { nacks: number; plis: number; retransmitted: number };
  secondsSent: number;
  /** The `recording` message that ended the recording (state "finished" or "failed"); undefined after an abort or an abrupt hang-up. */
  finished: any;
}

export interface PublishOptions {
  /** ws:// URL of recbot's /ws endpoint. */
  url: string;
  clip: Clip;
  /** Stop after this many seconds of media (default: the whole clip). */
  seconds?: number;
  /** "bye" (default) hangs up politely and waits for the finished recording; "abrupt" just drops socket and peer. */
  hangup?: "bye" | "abrupt";
  /** Stops sending when aborted; `publish` then returns at once, without waiting for the recording to finish. */
  signal?: AbortSignal;
  /**
   * Send Opus DTX frames (≤ 3 bytes, what libopus emits in silence with `-dtx 1`) the way browsers do:
   * not at all, except one every 400 ms.
   */
  dtx?: boolean;
  /** Send audio only within [from, to) seconds of the clip (a microphone muted before and after). */
  audioWindow?: [number, number];
  /** Send no video within [from, to) seconds of the clip (camera switched off mid-call; audio goes on). */
  videoPause?: [number, number];
  /** Echo mode: offer sendrecv with `mode: "echo"`; every packet recbot sends back is passed here. */
  onEcho?: (kind: "video" | "audio", packet: RtpPacket) => void;
  /** Called after each frame's packets are written. */
  onFrame?: (frame: SentFrame) => void;
  /** Rewrites ICE candidates both ways (e.g. to route media through a lossy relay). */
  mapCandidate?: (direction: "toRecbot" | "fromRecbot", candidate: string) => string;
  /** Leave werift's broken SR timestamps as they are (default: corrected, see correctSenderReports). */
  brokenSenderReports?: boolean;
  /** Called once connected, with the publisher's peer connection. */
  onConnected?: (pc: RTCPeerConnection) => void;
  /** Called when the peer is connected and the first frame is about to be sent. */
  onSending?: () => void;
  /** Called once the recording's file holds its first keyframe (what offerToKeyframeOnDiskMs measures), with its path; needs `recordingsDir`. */
  onKeyframeOnDisk?: (file: string) => void;
  /** Called (and awaited) when the last frame has been sent, before `bye`. */
  onSent?: () => void | Promise<void>;
  /** The client's addresses and STUN/TURN servers (default: 127.0.0.1 only, none). */
  ice?: ClientIceOptions;
  /** werift settings over those, e.g. `{ iceTransportPolicy: "relay" }`. */
  peerConfig?: Partial<PeerConfig>;
  /** Rewrites the offer as sent to recbot (what the publisher's own peer keeps is unchanged). */
  mapOffer?: (sdp: string) => string;
  /**
   * recbot's recordings directory, when this process can see it: recordings are named relative to it, and the
   * keyframe-on-disk time is measured from the file there (NaN without it).
   */
  recordingsDir?: string;
  /** Join this call on the socket before the offer (the recording then belongs to the call's participant). */
  join?: { callId: string; name: string };
  /** Called with recbot's `joined` message. */
  onJoined?: (joined: any) => void;
  /** Start sending media at this wall-clock time (Unix ms, `wallMs()`), e.g. for publishers that must flash together. */
  startAtMs?: number;
  /** Which of recbot's trickled candidates (by address) to add; default: loopback only. */
  acceptRemoteCandidate?: (address: string) => boolean;
}

/** Header and track list are well under this; a 320x240 VP8 keyframe is well over it. */
const KEYFRAME_ON_DISK_BYTES = 3000;

/**
 * Publishes a pre-encoded clip (VP8 + Opus, one MediaStream) to recbot over /ws like a browser would:
 * offer, trickle ICE both ways, media paced in real time from the clip's timestamps, then `bye`,
 * and waits for `recording: finished`.
 */
export async function publish(options: PublishOptions): Promise<PublishResult> {
  const { url, clip, seconds = clip.seconds, mapCandidate = (_d, c) => c, hangup = "bye", acceptRemoteCandidate = isLoopback, onEcho } = options;
  const pc = clientPeer(options.ice, options.peerConfig);
  const video = new MediaStreamTrack({ kind: "video" });
  const audio = new MediaStreamTrack({ kind: "audio" });
  const stream = new MediaStream([video, audio]);
  const direction = onEcho ? "sendrecv" : "sendonly";
  const senders = [
    pc.addTransceiver(video, { direction, streams: [stream] }).sender,
    pc.addTransceiver(audio, { direction, streams: [stream] }).sender,
  ];
  if (!options.brokenSenderReports) senders.forEach(correctSenderReports);
  if (onEcho) pc.ontrack = ({ track }) => track.onReceiveRtp.subscribe((p: RtpPacket) => onEcho(track.kind as "video" | "audio", p));
  // A PLI is answered with the intra copy of the next picture when the clip has one (makeClip({ intra: true })).
  let keyframeRequested = false;
  senders[0].onPictureLossIndication.subscribe(() => {
    keyframeRequested = true;
  });
  const keyframeWanted = () => (keyframeRequested ? ((keyframeRequested = false), true) : false);
  const feedback = { nacks: 0, plis: 0, retransmitted: 0 };

  const client = new WsClient(url);
  try {
    await client.opened();
    if (options.join) {
      client.send({ type: "join", ...options.join });
      const joined = await client.waitFor((m) => m.type === "joined" || m.type === "error");
      if (joined.type === "error") throw new Error(`recbot refused the join: ${joined.code}: ${joined.message}`);
      options.onJoined?.(joined);
    }
    client.socket.on("message", (raw) => {
      const m = JSON.parse(raw.toString());
      if (m.type === "candidate" && m.candidate && acceptRemoteCandidate(m.candidate.candidate.split(" ")[4] ?? "")) {
        void pc.addIceCandidate({ ...m.candidate, candidate: mapCandidate("fromRecbot", m.candidate.candidate) }).catch(() => {});
      }
    });
    pc.onIceCandidate.subscribe((c) => {
      const json = c?.toJSON();
      client.send({ type: "candidate", candidate: json ? { ...json, candidate: mapCandidate("toRecbot", json.candidate ?? "") } : null });
    });

    await pc.setLocalDescription(await pc.createOffer());
    const offerAt = performance.now();
    const mapped = mapSdpCandidates(pc.localDescription!.sdp, (c) => mapCandidate("toRecbot", c));
    const sdp = options.mapOffer ? options.mapOffer(mapped) : mapped;
    client.send(onEcho ? { type: "offer", sdp, mode: "echo" } : { type: "offer", sdp });
    const answer = await client.waitFor((m) => m.type === "answer" || m.type === "error");
    if (answer.type === "error") throw new Error(`recbot refused the offer: ${answer.code}: ${answer.message}`);
    const offerToAnswerMs = performance.now() - offerAt;
    await pc.setRemoteDescription({ type: "answer", sdp: mapSdpCandidates(answer.sdp, (c) => mapCandidate("fromRecbot", c)) });
    await waitConnected(pc);
    const offerToConnectedMs = performance.now() - offerAt;
    const pair = selectedPair(pc);
    options.onConnected?.(pc);

    let offerToKeyframeOnDiskMs = NaN;
    let recordingEnded = false;
    // Polled until found, whether or not sending has ended: the stream's sync hold can put the first keyframe on
    // disk seconds after the first frame was sent, later than a short clip lasts.
    void client.waitFor((m) => m.type === "recording" && m.state === "started").then(async (m) => {
      while (Number.isNaN(offerToKeyframeOnDiskMs) && !recordingEnded && performance.now() - offerAt < 30_000) {
        const file = options.recordingsDir ? path.resolve(options.recordingsDir, m.file) : undefined;
        if (file && (statSync(file, { throwIfNoEntry: false })?.size ?? 0) > KEYFRAME_ON_DISK_BYTES) {
          offerToKeyframeOnDiskMs = performance.now() - offerAt;
          options.onKeyframeOnDisk?.(file);
        } else await new Promise((r) => setTimeout(r, 5));
      }
    }, () => {});
    if (options.startAtMs !== undefined) await new Promise((r) => setTimeout(r, Math.max(0, options.startAtMs! - wallMs())));
    options.onSending?.();
    const framesSent = await sendClip(clip, seconds, video, audio, { keyframeWanted, dtx: options.dtx, signal: options.signal, audioWindow: options.audioWindow, videoPause: options.videoPause, onFrame: options.onFrame });
    await options.onSent?.();
    for (const sender of senders) {
      const s = sender as unknown as { nackCount: number; pliCount: number; retransmittedPacketsSent: number };
      feedback.nacks += s.nackCount ?? 0;
      feedback.plis += s.pliCount ?? 0;
      feedback.retransmitted += s.retransmittedPacketsSent ?? 0;
    }
    const result = { client, sessionId: answer.sessionId, offerToAnswerMs, offerToConnectedMs, pair, answerSdp: answer.sdp, offerToKeyframeOnDiskMs, framesSent, feedback, secondsSent: seconds };
    if (options.signal?.aborted) return { ...result, offerToRecordingStartedMs: NaN, byeToFinishedMs: NaN, finished: undefined };
    const started = await client.waitFor((m) => m.type === "recording" && m.state === "started");
    const offerToRecordingStartedMs = client.arrivalOf(started) - offerAt;
    if (hangup === "abrupt") {
      client.socket.terminate();
      return { ...result, offerToKeyframeOnDiskMs, offerToRecordingStartedMs, byeToFinishedMs: NaN, finished: undefined };
    }

    // The server may have ended the session itself (a limit): then there is no one to say bye to.
    const byeAt = performance.now();
    if (client.socket.readyState === client.socket.OPEN) client.send({ type: "bye" });
    const finished = await client.waitFor((m) => m.type === "recording" && (m.state === "finished" || m.state === "failed"), 30_000);
    const byeToFinishedMs = client.arrivalOf(finished) - byeAt;
    // The poll checks every 5 ms; one last look covers a keyframe that reached the disk just before the end.
    const finalFile = options.recordingsDir && finished.file ? path.resolve(options.recordingsDir, finished.file) : undefined;
    if (Number.isNaN(offerToKeyframeOnDiskMs) && finalFile && (statSync(finalFile, { throwIfNoEntry: false })?.size ?? 0) > KEYFRAME_ON_DISK_BYTES) {
      offerToKeyframeOnDiskMs = performance.now() - offerAt;
    }
    recordingEnded = true;
    await client.closed();
    return { ...result, offerToKeyframeOnDiskMs, offerToRecordingStartedMs, byeToFinishedMs, finished };
  } finally {
    client.close();
    await pc.close();
  }
}

/** Applies `map` to every inline `a=candidate:` line (werift puts all candidates in the SDP, too). */
function mapSdpCandidates(sdp: string, map: (candidate: string) => string): string {
  return sdp.replace(/^a=(candidate:[^\r\n]*)/gm, (_line, c: string) => `a=${map(c)}`);
}
