import { MediaStream, MediaStreamTrack } from "werift";
import { clientPeer, waitConnected } from "../../src/loopback/clientPeer.ts";
import { statSync } from "node:fs";
import { isLoopback } from "../../src/session/iceOptions.ts";
import { sendClip } from "../../src/loopback/pacer.ts";
import type { Clip } from "./clip.ts";
import { WsClient } from "./wsClient.ts";

export interface PublishResult {
  client: WsClient;
  sessionId: string;
  offerToAnswerMs: number;
  offerToRecordingStartedMs: number;
  /** Until the file on disk holds more than its header: the first keyframe has been written. */
  offerToKeyframeOnDiskMs: number;
  framesSent: { video: number; audio: number };
  secondsSent: number;
  finished: any;
}

export interface PublishOptions {
  /** ws:// URL of recbot's /ws endpoint. */
  url: string;
  clip: Clip;
  /** Stop after this many seconds of media (default: the whole clip). */
  seconds?: number;
  /** Called once media flows, e.g. to inspect the recording mid-call. */
  whileSending?: (elapsedSeconds: number) => void;
}

/** Header and track list are well under this; a 320x240 VP8 keyframe is well over it. */
const KEYFRAME_ON_DISK_BYTES = 3000;

/** A werift client peer restricted to 127.0.0.1, as LAB.md prescribes. */
export const loopbackPeer = () => clientPeer({ iceAddresses: ["127.0.0.1"] });

/**
 * Publishes a pre-encoded clip (VP8 + Opus, one MediaStream) to recbot over /ws like a browser would:
 * offer, trickle ICE both ways, media paced in real time from the clip's timestamps, then `bye`,
 * and waits for `recording: finished`.
 */
export async function publish({ url, clip, seconds = clip.seconds }: PublishOptions): Promise<PublishResult> {
  const pc = loopbackPeer();
  const video = new MediaStreamTrack({ kind: "video" });
  const audio = new MediaStreamTrack({ kind: "audio" });
  const stream = new MediaStream([video, audio]);
  pc.addTransceiver(video, { direction: "sendonly", streams: [stream] });
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
    void client.waitFor((m) => m.type === "recording" && m.state === "started").then(async (m) => {
      while (Number.isNaN(offerToKeyframeOnDiskMs) && performance.now() - offerAt < 30_000) {
        if ((statSync(m.file, { throwIfNoEntry: false })?.size ?? 0) > KEYFRAME_ON_DISK_BYTES) offerToKeyframeOnDiskMs = performance.now() - offerAt;
        else await new Promise((r) => setTimeout(r, 5));
      }
    });
    const framesSent = await sendClip(clip, seconds, video, audio);
    const started = await client.waitFor((m) => m.type === "recording" && m.state === "started");
    const offerToRecordingStartedMs = client.arrivalOf(started) - offerAt;

    client.send({ type: "bye" });
    const finished = await client.waitFor((m) => m.type === "recording" && (m.state === "finished" || m.state === "failed"), 30_000);
    await client.closed();
    return { client, sessionId: answer.sessionId, offerToAnswerMs, offerToRecordingStartedMs, offerToKeyframeOnDiskMs, framesSent, secondsSent: seconds, finished };
  } finally {
    client.close();
    await pc.close();
  }
}

export { sendClip, waitConnected };
