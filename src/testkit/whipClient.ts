import { MediaStream, MediaStreamTrack, Vp8RtpPayload, type RTCPeerConnection, type RtpPacket } from "werift";
import type { Clip } from "./clip.ts";
import { sendClip, type SendStats } from "./pacer.ts";
import { clientPeer, waitConnected } from "./peer.ts";

export interface WhipResponse {
  status: number;
  headers: Headers;
  body: string;
}

async function call(url: string, init: RequestInit): Promise<WhipResponse> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

const auth = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

export const whip = {
  post: (url: string, sdp: string, token?: string, contentType = "application/sdp") =>
    call(url, { method: "POST", body: sdp, headers: { "content-type": contentType, ...auth(token) } }),
  patch: (url: string, frag: string, opts: { token?: string; ifMatch?: string; contentType?: string } = {}) =>
    call(url, {
      method: "PATCH",
      body: frag,
      headers: {
        "content-type": opts.contentType ?? "application/trickle-ice-sdpfrag",
        ...(opts.ifMatch ? { "if-match": opts.ifMatch } : {}),
        ...auth(opts.token),
      },
    }),
  delete: (url: string, token?: string) => call(url, { method: "DELETE", headers: auth(token) }),
};

/** Splits a werift offer (which already holds every candidate) into an offer without candidates and a trickle fragment. */
export function splitCandidates(sdp: string): { offer: string; frag: string } {
  const lines = sdp.split("\r\n");
  const ufrag = lines.find((l) => l.startsWith("a=ice-ufrag:"))!;
  const pwd = lines.find((l) => l.startsWith("a=ice-pwd:"))!;
  const frag: string[] = [ufrag, pwd];
  let mid = "";
  let firstSection = true;
  for (const l of lines) {
    if (l.startsWith("m=")) {
      if (!firstSection) break; // BUNDLE: one transport, candidates of the first section suffice
      frag.push("m=audio 9 RTP/AVP 0");
    } else if (l.startsWith("a=mid:") && !mid) {
      mid = l;
      frag.push(l);
      firstSection = false;
    } else if (l.startsWith("a=candidate:") && mid) frag.push(l);
  }
  frag.push("a=end-of-candidates");
  const offer = lines.filter((l) => !l.startsWith("a=candidate:") && l !== "a=end-of-candidates").join("\r\n");
  return { offer, frag: frag.join("\r\n") + "\r\n" };
}

export interface EchoCounts {
  video: { packets: number; frames: number; keyframes: number };
  audio: { packets: number };
}

export interface WhipPublishOptions {
  /** http URL of POST /whip, query included (e.g. ?mode=echo). */
  url: string;
  clip: Clip;
  seconds?: number;
  token?: string;
  /** Send candidates by PATCH instead of inside the offer. */
  trickle?: boolean;
  /** Echo mode: offer sendrecv and count what comes back. */
  echo?: boolean;
}

export interface WhipPublishResult {
  post: WhipResponse;
  patch?: WhipResponse;
  del: WhipResponse;
  location: string;
  /** Frames sent per kind, and how late the sender ran (a busy test process shows here). */
  framesSent: SendStats;
  echo: EchoCounts;
  pc: RTCPeerConnection;
}

/** A werift client speaking WHIP: POST the offer, optionally PATCH candidates, send the clip, DELETE. */
export async function publishWhip(options: WhipPublishOptions): Promise<WhipPublishResult> {
  const { url, clip, seconds = clip.seconds, token, trickle = false, echo = false } = options;
  const pc = clientPeer();
  const video = new MediaStreamTrack({ kind: "video" });
  const audio = new MediaStreamTrack({ kind: "audio" });
  const stream = new MediaStream([video, audio]);
  const direction = echo ? "sendrecv" : "sendonly";
  pc.addTransceiver(video, { direction, streams: [stream] });
  pc.addTransceiver(audio, { direction, streams: [stream] });
  const counts: EchoCounts = { video: { packets: 0, frames: 0, keyframes: 0 }, audio: { packets: 0 } };
  pc.ontrack = ({ track }) => {
    track.onReceiveRtp.subscribe((p: RtpPacket) => {
      if (track.kind === "audio") return void counts.audio.packets++;
      counts.video.packets++;
      if (p.header.marker) counts.video.frames++;
      const vp8 = Vp8RtpPayload.deSerialize(p.payload);
      if (vp8.payloadHeaderExist && vp8.isKeyframe) counts.video.keyframes++;
    });
  };
  try {
    await pc.setLocalDescription(await pc.createOffer());
    const { offer, frag } = trickle ? splitCandidates(pc.localDescription!.sdp) : { offer: pc.localDescription!.sdp, frag: "" };
    const post = await whip.post(url, offer, token);
    if (post.status !== 201) throw new Error(`WHIP POST answered ${post.status}: ${post.body}`);
    const location = new URL(post.headers.get("location")!, url).toString();
    await pc.setRemoteDescription({ type: "answer", sdp: post.body });
    let patch: WhipResponse | undefined;
    if (trickle) {
      patch = await whip.patch(location, frag, { token, ifMatch: post.headers.get("etag") ?? undefined });
      if (patch.status !== 204) throw new Error(`WHIP PATCH answered ${patch.status}: ${patch.body}`);
    }
    await waitConnected(pc);
    const framesSent = await sendClip(clip, seconds, video, audio);
    if (echo) await new Promise((r) => setTimeout(r, 300)); // the last echoed packets are on their way
    const del = await whip.delete(location, token);
    return { post, patch, del, location, framesSent, echo: counts, pc };
  } finally {
    await pc.close();
  }
}
