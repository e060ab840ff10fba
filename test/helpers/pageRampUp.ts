/// <reference lib="dom" />
import type { Page } from "playwright-core";

export interface RampSample {
  /** Seconds since the connection reached "connected". */
  t: number;
  frameWidth: number;
  frameHeight: number;
  qualityLimitationReason: string;
  /** Video bytes sent over the last interval, as kbit/s. */
  kbps: number;
  /** The encoder's target (outbound-rtp targetBitrate), kbit/s. */
  targetKbps: number;
  /** The sender's bandwidth estimate (candidate-pair availableOutgoingBitrate), kbit/s. */
  availableKbps: number;
}

export interface RampResult {
  samples: RampSample[];
  offer: string;
  answer: string;
  recordings: { state: string; file: string }[];
  errors: { code: string; message: string }[];
}

/**
 * Publishes Chromium's default fake camera at 1280x720 (VP8) through /ws and samples the video sender's getStats
 * every 250 ms for `seconds`: resolution, why quality is limited, the sent bitrate, the encoder's target and the
 * bandwidth estimate. Shows how fast the sender reaches full quality against recbot.
 */
export interface RampOptions {
  wsUrl: string;
  seconds: number;
  role?: "publish" | "call";
  /** Set on the video sender once negotiated, e.g. "maintain-resolution" (Chromium's default is "balanced"). */
  degradationPreference?: string;
}

export function pageRampUp(page: Page, { wsUrl, seconds, role = "publish", degradationPreference }: RampOptions): Promise<RampResult> {
  return page.evaluate(async (o) => {
    const RecbotCall = (window as any).RecbotCall;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const camera = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 }, audio: true });
    const call = new RecbotCall({ url: o.wsUrl, streams: [camera], codecs: { video: "video/VP8", audio: "audio/opus" }, loopbackOnly: true });
    const samples: any[] = [];
    try {
      await (o.role === "call" ? call.call() : call.publish());
      if (o.degradationPreference) {
        const sender = call.pc.getSenders().find((x: RTCRtpSender) => x.track?.kind === "video");
        const params = sender.getParameters();
        params.degradationPreference = o.degradationPreference;
        await sender.setParameters(params);
      }
      await call.connected();
      const t0 = performance.now();
      let lastBytes = 0, lastT = t0;
      while (performance.now() - t0 < o.seconds * 1000) {
        await sleep(250);
        const report = await call.pc.getStats();
        const now = performance.now();
        let video: any, pair: any;
        report.forEach((s: any) => {
          if (s.type === "outbound-rtp" && s.kind === "video") video = s;
          if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
        });
        if (!video) continue;
        samples.push({
          t: (now - t0) / 1000, frameWidth: video.frameWidth ?? 0, frameHeight: video.frameHeight ?? 0,
          qualityLimitationReason: video.qualityLimitationReason, kbps: ((video.bytesSent - lastBytes) * 8) / (now - lastT),
          targetKbps: (video.targetBitrate ?? 0) / 1000, availableKbps: (pair?.availableOutgoingBitrate ?? 0) / 1000,
        });
        lastBytes = video.bytesSent;
        lastT = now;
      }
      const offer = call.pc.localDescription.sdp, answer = call.pc.remoteDescription.sdp;
      camera.getTracks().forEach((t) => t.stop());
      const recordings = await call.stop();
      return { samples, offer, answer, recordings, errors: call.errors };
    } finally {
      camera.getTracks().forEach((t) => t.stop());
    }
  }, { wsUrl, seconds, role, degradationPreference });
}
