import {
  MediaStream, MediaStreamTrack, RTCPeerConnection, useOPUS, useVP8, type PeerConfig, type RTCRtpSender,
} from "werift";
import { unixMicrosToNtp, wallMs } from "../../src/media/clock.ts";
import { statSync } from "node:fs";
import { sendClip, type SendStats } from "./clipSender.ts";
import { waitConnected } from "../../src/loopback/clientPeer.ts";
import { resolveConfig } from "../../src/config/loadConfig.ts";
import { iceOptions, isLoopback } from "../../src/session/iceOptions.ts";
import { selectedPair, type SelectedPair } from "../../src/session/selectedPair.ts";
import type { Clip } from "./clip.ts";
import { WsClient } from "./wsClient.ts";

export interface PublishResult {
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
  /** Audio packets not sent because they were DTX frames (see `dtx`). */
  audioPacketsSuppressed: number;
  /** From sending `bye` until the `recording: finished` (or failed) message: the file is final. */
  byeToFinishedMs: number;
  /** What recbot asked of this publisher: NACKed packets' feedback messages, PLIs, retransmitted packets. */
  feedback: { nacks: number; plis: number; retransmitted: number };
  secondsSent: number;
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
  /** Rewrites ICE candidates both ways (e.g. to route media through a lossy relay). */
  mapCandidate?: (direction: "toRecbot" | "fromRecbot", candidate: string) => string;
  /** Leave werift's broken SR timestamps as they are (default: corrected, see correctSenderReports). */
  brokenSenderReports?: boolean;
  /** Called once connected, with the publisher's peer connection. */
  onConnected?: (pc: RTCPeerConnection) => void;
  /** Called when the peer is connected and the first frame is about to be sent. */
  onSending?: () => void;
  /** Called when the last frame has been sent, before `bye`. */
  onSent?: () => void;
  /** werift settings over the loopback defaults, e.g. `{ iceServers, iceTransportPolicy: "relay" }`. */
  peerConfig?: Partial<PeerConfig>;
  /** Which of recbot's trickled candidates (by address) to add; default: loopback only. */
  acceptRemoteCandidate?: (address: string) => boolean;
}

/** Header and track list are well under this; a 320x240 VP8 keyframe is well over it. */
const KEYFRAME_ON_DISK_BYTES = 3000;

/** A werift client peer restricted to 127.0.0.1, as LAB.md prescribes (`overrides` win). */
export function loopbackPeer(overrides: Partial<PeerConfig> = {}): RTCPeerConnection {
  return new RTCPeerConnection({
    ...iceOptions(resolveConfig({ iceAddresses: ["127.0.0.1"] }), "client"),
    codecs: { video: [useVP8()], audio: [useOPUS()] },
    ...overrides,
  });
}

/** A real offer from a loopback werift peer (sendonly VP8 + Opus, candidates inline), for tests that only signal. */
export async function loopbackOffer(): Promise<string> {
  const pc = loopbackPeer();
  pc.addTransceiver("video", { direction: "sendonly" });
  pc.addTransceiver("audio", { direction: "sendonly" });
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  await pc.close();
  return sdp;
}

/**
 * Publishes a pre-encoded clip (VP8 + Opus, one MediaStream) to recbot over /ws like a browser would:
 * offer, trickle ICE both ways, media paced in real time from the clip's timestamps, then `bye`,
 * and waits for `recording: finished`.
 */
export async function publish(options: PublishOptions): Promise<PublishResult> {
  const { url, clip, seconds = clip.seconds, mapCandidate = (_d, c) => c, hangup = "bye", peerConfig, acceptRemoteCandidate = isLoopback } = options;
  const pc = loopbackPeer(peerConfig);
  const video = new MediaStreamTrack({ kind: "video" });
  const audio = new MediaStreamTrack({ kind: "audio" });
  const stream = new MediaStream([video, audio]);
  const senders = [
    pc.addTransceiver(video, { direction: "sendonly", streams: [stream] }).sender,
    pc.addTransceiver(audio, { direction: "sendonly", streams: [stream] }).sender,
  ];
  if (!options.brokenSenderReports) senders.forEach(correctSenderReports);
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
    client.send({ type: "offer", sdp: mapSdpCandidates(pc.localDescription!.sdp, (c) => mapCandidate("toRecbot", c)) });
    const answer = await client.waitFor((m) => m.type === "answer" || m.type === "error");
    if (answer.type === "error") throw new Error(`recbot refused the offer: ${answer.code}: ${answer.message}`);
    const offerToAnswerMs = performance.now() - offerAt;
    await pc.setRemoteDescription({ type: "answer", sdp: mapSdpCandidates(answer.sdp, (c) => mapCandidate("fromRecbot", c)) });
    await waitConnected(pc);
    const offerToConnectedMs = performance.now() - offerAt;
    const pair = selectedPair(pc);
    options.onConnected?.(pc);

    let offerToKeyframeOnDiskMs = NaN;
    void client.waitFor((m) => m.type === "recording" && m.state === "started").then(async (m) => {
      while (Number.isNaN(offerToKeyframeOnDiskMs) && performance.now() - offerAt < 30_000) {
        if ((statSync(m.file, { throwIfNoEntry: false })?.size ?? 0) > KEYFRAME_ON_DISK_BYTES) offerToKeyframeOnDiskMs = performance.now() - offerAt;
        else await new Promise((r) => setTimeout(r, 5));
      }
    });
    options.onSending?.();
    const framesSent = await sendClip(clip, seconds, video, audio, { keyframeWanted, dtx: options.dtx, signal: options.signal, audioWindow: options.audioWindow });
    const audioPacketsSuppressed = framesSent.suppressed;
    options.onSent?.();
    for (const sender of senders) {
      const s = sender as unknown as { nackCount: number; pliCount: number; retransmittedPacketsSent: number };
      feedback.nacks += s.nackCount ?? 0;
      feedback.plis += s.pliCount ?? 0;
      feedback.retransmitted += s.retransmittedPacketsSent ?? 0;
    }
    if (options.signal?.aborted) {
      return { client, sessionId: answer.sessionId, offerToAnswerMs, offerToConnectedMs, pair, answerSdp: answer.sdp, offerToRecordingStartedMs: NaN, offerToKeyframeOnDiskMs, framesSent, audioPacketsSuppressed, feedback, byeToFinishedMs: NaN, secondsSent: seconds, finished: undefined };
    }
    const started = await client.waitFor((m) => m.type === "recording" && m.state === "started");
    const offerToRecordingStartedMs = client.arrivalOf(started) - offerAt;
    if (hangup === "abrupt") {
      client.socket.terminate();
      return { client, sessionId: answer.sessionId, offerToAnswerMs, offerToConnectedMs, pair, answerSdp: answer.sdp, offerToRecordingStartedMs, offerToKeyframeOnDiskMs, framesSent, audioPacketsSuppressed, feedback, byeToFinishedMs: NaN, secondsSent: seconds, finished: undefined };
    }

    // The server may have ended the session itself (a limit): then there is no one to say bye to.
    const byeAt = performance.now();
    if (client.socket.readyState === client.socket.OPEN) client.send({ type: "bye" });
    const finished = await client.waitFor((m) => m.type === "recording" && (m.state === "finished" || m.state === "failed"), 30_000);
    const byeToFinishedMs = client.arrivalOf(finished) - byeAt;
    await client.closed();
    return { client, sessionId: answer.sessionId, offerToAnswerMs, offerToConnectedMs, pair, answerSdp: answer.sdp, offerToRecordingStartedMs, offerToKeyframeOnDiskMs, framesSent, audioPacketsSuppressed, feedback, byeToFinishedMs, secondsSent: seconds, finished };
  } finally {
    client.close();
    await pc.close();
  }
}

/** Applies `map` to every inline `a=candidate:` line (werift puts all candidates in the SDP, too). */
function mapSdpCandidates(sdp: string, map: (candidate: string) => string): string {
  return sdp.replace(/^a=(candidate:[^\r\n]*)/gm, (_line, c: string) => `a=${map(c)}`);
}


/**
 * werift 0.25.2 writes the SR's NTP fraction wrong (WERIFT.md). It takes the SR's NTP time from the send time of
 * the last RTP packet (a private field set per packet): store a correct RFC 3550 timestamp there instead.
 */
export function correctSenderReports(sender: RTCRtpSender): void {
  let ntp = 0n;
  Object.defineProperty(sender, "ntpTimestamp", {
    configurable: true,
    get: () => ntp,
    set: () => {
      ntp = unixMicrosToNtp(wallMs() * 1000);
    },
  });
}

export { sendClip, waitConnected };
