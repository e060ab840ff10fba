import {
  MediaStream, MediaStreamTrack, OpusPacketizer, RTCPeerConnection, Vp8Packetizer, useOPUS, useVP8, type PeerConfig, type RTCRtpSender,
} from "werift";
import { unixMicrosToNtp, wallMs } from "../../src/media/clock.ts";
import { statSync } from "node:fs";
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
  framesSent: { video: number; audio: number };
  /** Audio packets not sent because they were DTX frames (see `dtx`). */
  audioPacketsSuppressed: number;
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
    const { sent: framesSent, suppressed: audioPacketsSuppressed } = await sendClip(clip, seconds, video, audio, { dtx: options.dtx, signal: options.signal, audioWindow: options.audioWindow });
    for (const sender of senders) {
      const s = sender as unknown as { nackCount: number; pliCount: number; retransmittedPacketsSent: number };
      feedback.nacks += s.nackCount ?? 0;
      feedback.plis += s.pliCount ?? 0;
      feedback.retransmitted += s.retransmittedPacketsSent ?? 0;
    }
    if (options.signal?.aborted) {
      return { client, sessionId: answer.sessionId, offerToAnswerMs, offerToConnectedMs, pair, answerSdp: answer.sdp, offerToRecordingStartedMs: NaN, offerToKeyframeOnDiskMs, framesSent, audioPacketsSuppressed, feedback, secondsSent: seconds, finished: undefined };
    }
    const started = await client.waitFor((m) => m.type === "recording" && m.state === "started");
    const offerToRecordingStartedMs = client.arrivalOf(started) - offerAt;
    if (hangup === "abrupt") {
      client.socket.terminate();
      return { client, sessionId: answer.sessionId, offerToAnswerMs, offerToConnectedMs, pair, answerSdp: answer.sdp, offerToRecordingStartedMs, offerToKeyframeOnDiskMs, framesSent, audioPacketsSuppressed, feedback, secondsSent: seconds, finished: undefined };
    }

    // The server may have ended the session itself (a limit): then there is no one to say bye to.
    if (client.socket.readyState === client.socket.OPEN) client.send({ type: "bye" });
    const finished = await client.waitFor((m) => m.type === "recording" && (m.state === "finished" || m.state === "failed"), 30_000);
    await client.closed();
    return { client, sessionId: answer.sessionId, offerToAnswerMs, offerToConnectedMs, pair, answerSdp: answer.sdp, offerToRecordingStartedMs, offerToKeyframeOnDiskMs, framesSent, audioPacketsSuppressed, feedback, secondsSent: seconds, finished };
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

/** Sends the clip's frames at their own pace (wall clock), packetized by werift. */
export async function sendClip(clip: Clip, seconds: number, video: MediaStreamTrack, audio: MediaStreamTrack, options: { dtx?: boolean; signal?: AbortSignal; audioWindow?: [number, number] } = {}) {
  const vp8 = new Vp8Packetizer({ payloadType: 96 });
  const opus = new OpusPacketizer({ payloadType: 111 });
  const videoBase = Math.floor(Math.random() * 2 ** 31);
  const audioBase = Math.floor(Math.random() * 2 ** 31);
  const events = [
    ...clip.video.filter((f) => f.time < seconds).map((f) => ({ f, kind: "video" as const })),
    ...clip.audio
      .filter((f) => f.time < seconds && (!options.audioWindow || (f.time >= options.audioWindow[0] && f.time < options.audioWindow[1])))
      .map((f) => ({ f, kind: "audio" as const })),
  ].sort((a, b) => a.f.time - b.f.time);
  const start = performance.now();
  const sent = { video: 0, audio: 0 };
  let suppressed = 0;
  for (const { f, kind } of events) {
    const wait = start + f.time * 1000 - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (options.signal?.aborted) break;
    if (kind === "video") {
      for (const p of vp8.packetize(f.data, (videoBase + Math.round(f.time * 90000)) >>> 0)) video.writeRtp(p);
    } else {
      const dtxFrame = options.dtx && f.data.length <= 3;
      // A DTX sender sends one comfort-noise frame every 400 ms of silence, and nothing else.
      if (dtxFrame && Math.round(f.time * 50) % 20 !== 0) {
        suppressed++;
        continue;
      }
      for (const p of opus.packetize(f.data, (audioBase + Math.round(f.time * 48000)) >>> 0)) audio.writeRtp(p);
    }
    sent[kind]++;
  }
  // Let the last packets leave before the caller hangs up.
  await new Promise((r) => setTimeout(r, 100));
  return { sent, suppressed };
}
export { waitConnected };
