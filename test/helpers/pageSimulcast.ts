/// <reference lib="dom" />
import type { Page } from "playwright-core";

export interface SimulcastCallOptions {
  wsUrl: string;
  seconds: number;
  /** Turn the top encoding off (setParameters active:false) for this window, seconds after recording started. */
  topOff?: { from: number; to: number };
}

export interface SimulcastCallResult {
  offer: string;
  answer: string;
  /** Per rid at the end: frames sent and the size. */
  layers: { rid: string; framesSent: number; frameWidth?: number; frameHeight?: number; active?: boolean }[];
  recordings: { state: string; file: string; recordingId: string }[];
  errors: { code: string; message: string }[];
}

/**
 * Chromium publishes its fake camera at 1280x720 as three simulcast encodings (rids q, h, f: 320x180, 640x360,
 * 1280x720, VP8; Chromium sends fewer layers from a smaller camera) through /ws with public/client.js, optionally switching the top one off and on mid-call.
 */
export function pageSimulcast(page: Page, options: SimulcastCallOptions): Promise<SimulcastCallResult> {
  return page.evaluate(async (o) => {
    const RecbotCall = (window as any).RecbotCall;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const camera = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 }, audio: true });
    // No streams handed to RecbotCall: the transceivers are added here, with the encodings.
    const call = new RecbotCall({ url: o.wsUrl, streams: [], loopbackOnly: true });
    const [video] = camera.getVideoTracks();
    const transceiver = call.pc.addTransceiver(video, {
      direction: "sendonly", streams: [camera],
      sendEncodings: [{ rid: "q", scaleResolutionDownBy: 4 }, { rid: "h", scaleResolutionDownBy: 2 }, { rid: "f" }],
    });
    const vp8 = RTCRtpSender.getCapabilities("video")!.codecs.filter((c) => ["video/vp8", "video/rtx"].includes(c.mimeType.toLowerCase()));
    transceiver.setCodecPreferences(vp8);
    call.pc.addTransceiver(camera.getAudioTracks()[0], { direction: "sendonly", streams: [camera] });
    try {
      await call.publish();
      await call.connected();
      await call.waitFor((m: any) => m.type === "recording" && m.state === "started");
      const setTop = async (active: boolean) => {
        const params = transceiver.sender.getParameters();
        params.encodings.find((e: RTCRtpEncodingParameters) => e.rid === "f")!.active = active;
        await transceiver.sender.setParameters(params);
      };
      if (o.topOff) {
        await sleep(o.topOff.from * 1000);
        await setTop(false);
        await sleep((o.topOff.to - o.topOff.from) * 1000);
        await setTop(true);
        await sleep((o.seconds - o.topOff.to) * 1000);
      } else {
        await sleep(o.seconds * 1000);
      }
      camera.getTracks().forEach((t) => t.stop());
      await sleep(300);
      const layers: any[] = [];
      (await call.pc.getStats()).forEach((s: any) => {
        if (s.type === "outbound-rtp" && s.kind === "video") layers.push({ rid: s.rid, framesSent: s.framesSent, frameWidth: s.frameWidth, frameHeight: s.frameHeight, active: s.active });
      });
      const offer = call.pc.localDescription.sdp, answer = call.pc.remoteDescription.sdp;
      const recordings = await call.stop();
      return { offer, answer, layers, recordings, errors: call.errors };
    } catch (err) {
      const debug = { offer: call.pc.localDescription?.sdp ?? "", answer: call.pc.remoteDescription?.sdp ?? "" };
      call.pc.close();
      call.ws?.close();
      return { ...debug, layers: [], recordings: [], errors: [...call.errors, { code: "page_error", message: String(err) }] };
    } finally {
      camera.getTracks().forEach((t) => t.stop());
    }
  }, options);
}
