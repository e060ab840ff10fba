/// <reference lib="dom" />
import type { Page } from "playwright-core";
import type { RecordingMetadata } from "../../src/recordings/metadata.ts";
import type { SenderStats } from "./pageCall.ts";

export interface PageWhipOptions {
  /** e.g. http://127.0.0.1:8080/whip */
  whipUrl: string;
  /** MIME types to keep first with setCodecPreferences, e.g. { video: "video/VP9", audio: "audio/opus" }. */
  codecs: { audio: string; video: string };
  seconds: number;
}

export interface PageWhipResult {
  offer: string;
  answer: string;
  stats: SenderStats[];
  recordings: RecordingMetadata[];
  errors: string[];
}

/**
 * A browser as a WHIP publisher (RFC 9725) without any library: fake camera and microphone, one sendonly
 * transceiver each with the codec forced by setCodecPreferences, the offer POSTed once ICE gathering is complete
 * (no trickle), media for `seconds`, then DELETE, whose body lists the finished recordings.
 */
export function pageWhip(page: Page, options: PageWhipOptions): Promise<PageWhipResult> {
  return page.evaluate(async (o) => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const errors: string[] = [];
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: 320, height: 240, frameRate: 30 },
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const pc = new RTCPeerConnection({ iceServers: [] });
    let resource: string | null = null;
    try {
      for (const track of stream.getTracks()) {
        const kind = track.kind as "audio" | "video";
        const t = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
        const codecs = RTCRtpSender.getCapabilities(kind)!.codecs;
        const mime = o.codecs[kind].toLowerCase();
        // Only the wanted codec (and retransmission): recbot answers with its own first choice among those offered.
        t.setCodecPreferences(codecs.filter((c) => [mime, `${kind}/rtx`].includes(c.mimeType.toLowerCase())));
      }
      await pc.setLocalDescription(await pc.createOffer());
      const deadline = performance.now() + 5000;
      while (pc.iceGatheringState !== "complete" && performance.now() < deadline) await sleep(20);
      const offer = pc.localDescription!.sdp;
      const res = await fetch(o.whipUrl, { method: "POST", headers: { "content-type": "application/sdp" }, body: offer });
      const answer = await res.text();
      if (res.status !== 201) throw new Error(`POST ${o.whipUrl}: ${res.status} ${answer}`);
      resource = new URL(res.headers.get("location")!, o.whipUrl).href;
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not connected: ${pc.connectionState}`)), 15000);
        const check = () => {
          if (pc.connectionState === "connected") (clearTimeout(timer), resolve());
          if (pc.connectionState === "failed") (clearTimeout(timer), reject(new Error("connection failed")));
        };
        pc.addEventListener("connectionstatechange", check);
        check();
      });
      await sleep(o.seconds * 1000);
      stream.getTracks().forEach((t) => t.stop());
      await sleep(500);
      const stats: any[] = [];
      (await pc.getStats()).forEach((s: any) => {
        if (s.type !== "outbound-rtp") return;
        stats.push({ mid: s.mid, kind: s.kind, packetsSent: s.packetsSent, framesEncoded: s.framesEncoded, framesSent: s.framesSent, frameWidth: s.frameWidth, frameHeight: s.frameHeight, streamId: stream.id });
      });
      const bye = await fetch(resource, { method: "DELETE" });
      const body = await bye.json();
      resource = null;
      pc.close();
      return { offer, answer, stats, recordings: body.recordings ?? [], errors };
    } catch (err) {
      errors.push(String(err));
      if (resource) await fetch(resource, { method: "DELETE" }).catch(() => {});
      pc.close();
      return { offer: "", answer: "", stats: [], recordings: [], errors };
    } finally {
      stream.getTracks().forEach((t) => t.stop());
    }
  }, options);
}
