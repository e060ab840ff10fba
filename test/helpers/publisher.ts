import { MediaStream, MediaStreamTrack, RTCPeerConnection, useOPUS, useVP8 } from "werift";
import { open } from "node:fs/promises";
import { resolveConfig } from "../../src/config/loadConfig.ts";
import { iceOptions, isLoopback } from "../../src/session/iceOptions.ts";
import type { Clip } from "./clip.ts";
import { keyframeSignature, sendClip, type SendStats } from "./clipSender.ts";
import { WsClient } from "./wsClient.ts";

export interface PublishResult {
  client: WsClient;
  sessionId: string;
  offerToAnswerMs: number;
  offerToRecordingStartedMs: number;
  /** Until the file on disk holds the start of the clip's first keyframe. */
  offerToKeyframeOnDiskMs: number;
  /** From sending `bye` until the `recording: finished` (or failed) message: the file is final. */
  byeToFinishedMs: number;
  framesSent: SendStats;
  secondsSent: number;
  finished: any;
}

export interface PublishOptions {
  /** ws:// URL of recbot's /ws endpoint. */
  url: string;
  clip: Clip;
  /** Stop after this many seconds of media (default: the whole clip; longer loops the clip). */
  seconds?: number;
  /** Called when the peer is connected and the first frame is about to be sent. */
  onSending?: () => void;
  /** Called when the last frame has been sent, before `bye`. */
  onSent?: () => void;
}

/** A werift client peer restricted to 127.0.0.1, as LAB.md prescribes. */
export function loopbackPeer(): RTCPeerConnection {
  return new RTCPeerConnection({
    ...iceOptions(resolveConfig({ iceAddresses: ["127.0.0.1"] }), "client"),
    codecs: { video: [useVP8()], audio: [useOPUS()] },
  });
}

/**
 * Publishes a pre-encoded clip (VP8 + Opus, one MediaStream) to recbot over /ws like a browser would:
 * offer, trickle ICE both ways, media paced in real time from the clip's timestamps, then `bye`,
 * and waits for `recording: finished`.
 */
export async function publish({ url, clip, seconds = clip.seconds, onSending, onSent }: PublishOptions): Promise<PublishResult> {
  const pc = loopbackPeer();
  const video = new MediaStreamTrack({ kind: "video" });
  const audio = new MediaStreamTrack({ kind: "audio" });
  const stream = new MediaStream([video, audio]);
  const videoSender = pc.addTransceiver(video, { direction: "sendonly", streams: [stream] }).sender;
  let keyframeRequested = false;
  videoSender.onPictureLossIndication.subscribe(() => {
    keyframeRequested = true;
  });
  const keyframeWanted = () => (keyframeRequested ? ((keyframeRequested = false), true) : false);
  pc.addTransceiver(audio, { direction: "sendonly", streams: [stream] });

  const client = new WsClient(url);
  try {
    await client.opened();
    client.socket.on("message", (raw) => {
      const m = JSON.parse(raw.toString());
      if (m.type === "candidate" && m.candidate && isLoopback(m.candidate.candidate.split(" ")[4] ?? "")) {
        void pc.addIceCandidate(m.candidate).catch(() => {});
      }
    });
    pc.onIceCandidate.subscribe((c) => client.send({ type: "candidate", candidate: c ? c.toJSON() : null }));

    await pc.setLocalDescription(await pc.createOffer());
    const offerAt = performance.now();
    client.send({ type: "offer", sdp: pc.localDescription!.sdp });
    const answer = await client.waitFor((m) => m.type === "answer" || m.type === "error");
    if (answer.type === "error") throw new Error(`recbot refused the offer: ${answer.code}: ${answer.message}`);
    const offerToAnswerMs = performance.now() - offerAt;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    await waitConnected(pc);

    let offerToKeyframeOnDiskMs = NaN;
    const signature = keyframeSignature(clip);
    const watching = client.waitFor((m) => m.type === "recording" && m.state === "started", 30_000).then(async (m) => {
      if (await waitForBytes(m.file, signature, offerAt + 30_000)) offerToKeyframeOnDiskMs = performance.now() - offerAt;
    }, () => {});
    onSending?.();
    const framesSent = await sendClip(clip, seconds, video, audio, keyframeWanted);
    onSent?.();
    const started = await client.waitFor((m) => m.type === "recording" && m.state === "started");
    const offerToRecordingStartedMs = client.arrivalOf(started) - offerAt;
    await watching;

    const byeAt = performance.now();
    client.send({ type: "bye" });
    const finished = await client.waitFor((m) => m.type === "recording" && (m.state === "finished" || m.state === "failed"), 30_000);
    const byeToFinishedMs = client.arrivalOf(finished) - byeAt;
    await client.closed();
    return { client, sessionId: answer.sessionId, offerToAnswerMs, offerToRecordingStartedMs, offerToKeyframeOnDiskMs, byeToFinishedMs, framesSent, secondsSent: seconds, finished };
  } finally {
    client.close();
    await pc.close();
  }
}

export function waitConnected(pc: RTCPeerConnection, timeoutMs = 15_000): Promise<void> {
  if (pc.connectionState === "connected") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not connected after ${timeoutMs} ms: ${pc.connectionState}`)), timeoutMs);
    const sub = pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        clearTimeout(timer);
        sub.unSubscribe();
        resolve();
      } else if (state === "failed") {
        clearTimeout(timer);
        reject(new Error("ICE/DTLS failed"));
      }
    });
  });
}

/** Polls a growing file until `bytes` appear in it (read incrementally) or `deadline` (performance.now ms) passes. */
async function waitForBytes(file: string, bytes: Buffer, deadline: number): Promise<boolean> {
  let handle = await open(file, "r").catch(() => undefined);
  while (!handle && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10)); // ffmpeg creates the file once it has probed its input
    handle = await open(file, "r").catch(() => undefined);
  }
  if (!handle) return false;
  try {
    const chunk = Buffer.alloc(1 << 16);
    let carry = Buffer.alloc(0);
    let offset = 0;
    while (performance.now() < deadline) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
      if (bytesRead === 0) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      offset += bytesRead;
      const window = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      if (window.includes(bytes)) return true;
      carry = window.subarray(Math.max(0, window.length - bytes.length + 1));
    }
    return false;
  } finally {
    await handle.close();
  }
}
