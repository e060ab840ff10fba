/// <reference lib="dom" />
import type { Browser, Page } from "playwright-core";

export interface SenderStats {
  mid: string;
  kind: "audio" | "video";
  streamId?: string;
  codec?: string;
  sdpFmtpLine?: string;
  packetsSent: number;
  framesEncoded?: number;
  framesSent?: number;
  frameWidth?: number;
  frameHeight?: number;
  encoderImplementation?: string;
}

export interface PageCallResult {
  sessionId: string;
  role: "publish" | "call";
  localSdp: string;
  remoteSdp: string;
  streamIds: string[];
  stats: SenderStats[];
  recordings: { recordingId: string; state: string; file: string; streamId: string; error?: string }[];
  errors: { code: string; message: string }[];
  /** Wall-clock seconds from the first recording "started" message to the stats taken just before `bye`. */
  mediaSeconds: number;
  /** Wall-clock seconds from ICE/DTLS "connected" to the stats taken just before `bye`. */
  connectedSeconds: number;
  /** Per stream id: wall-clock seconds from its first video frame sent (getStats, ±40 ms) to the end of its media. */
  videoSeconds: Record<string, number>;
  pair?: { local: { type: string; protocol: string; address: string }; remote: { type: string; protocol: string; address: string } };
}

export interface PageCallOptions {
  wsUrl: string;
  role?: "publish" | "call";
  /** e.g. { video: "video/VP9", audio: "audio/opus" } or "video/H264;profile-level-id=42e01f". */
  codecs?: { audio?: string; video?: string };
  seconds: number;
  /** Add a second, video-only stream drawn on a canvas (its own colour sequence). */
  canvasStream?: boolean;
  /** With role "call": the codecs the client asks recbot to offer. */
  callCodecs?: string[];
  /** Ask for stereo Opus (`stereo=1` in the offer's fmtp). */
  stereo?: boolean;
  /** Camera stream without audio. */
  noAudio?: boolean;
  /** Stop sending the camera video (sender.replaceTrack(null)) for this window: no packets at all, like a muted source. */
  pauseVideo?: { from: number; to: number };
  /** Set the camera video track's `enabled` to false for this window (seconds after media starts). */
  disableVideo?: { from: number; to: number };
}

/** Opens a recbot-served page and loads public/client.js into it (as `window.RecbotCall`). */
export async function openRecbotPage(browser: Browser, baseUrl: string, pathname = "/"): Promise<Page> {
  const page = await browser.newPage();
  page.on("console", (m) => m.type() === "error" && !m.text().includes("favicon") && console.log(`[page] ${m.text()}`));
  page.on("pageerror", (e) => console.log(`[page error] ${e.message}`));
  await page.goto(baseUrl + pathname);
  await page.addScriptTag({ type: "module", content: 'import { RecbotCall } from "/client.js"; window.RecbotCall = RecbotCall;' });
  await page.waitForFunction(() => (window as any).RecbotCall !== undefined);
  return page;
}

/**
 * Runs a whole call in the page (which must be served by recbot): getUserMedia from the fake devices,
 * publish or answer recbot's call through public/client.js with loopback-only candidates, send for
 * `seconds`, read the senders' getStats, hang up and wait for the recordings to be finished.
 */
export function pageCall(page: Page, options: PageCallOptions): Promise<PageCallResult> {
  return page.evaluate(async (o) => {
    const RecbotCall = (window as any).RecbotCall;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const camera = await navigator.mediaDevices.getUserMedia({
      video: { width: 320, height: 240, frameRate: 30 },
      audio: o.noAudio ? false : { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const streams = [camera];
    let drawTimer: ReturnType<typeof setInterval> | undefined;
    if (o.canvasStream) {
      const canvas = document.createElement("canvas");
      canvas.width = 320;
      canvas.height = 240;
      const ctx = canvas.getContext("2d")!;
      const colours = ["#ff0000", "#00ff00", "#0000ff", "#ffff00"];
      const start = performance.now();
      const draw = () => {
        ctx.fillStyle = colours[Math.floor((performance.now() - start) / 1000) % colours.length];
        ctx.fillRect(0, 0, 320, 240);
      };
      draw();
      drawTimer = setInterval(draw, 33);
      streams.push(canvas.captureStream(30));
    }
    let poller: ReturnType<typeof setInterval> | undefined;
    const call = new RecbotCall({ url: o.wsUrl, streams, codecs: o.codecs ?? {}, loopbackOnly: true, stereo: o.stereo, callCodecs: o.callCodecs });
    try {
      await (o.role === "call" ? call.call() : call.publish());
      await call.connected();
      const tConnected = performance.now();
      // When each stream's first video frame left the browser (getStats polled every 40 ms).
      const firstSent = new Map<string, number>();
      poller = setInterval(async () => {
        const now = performance.now();
        for (const st of await call.senderStats()) if (st.framesSent > 0 && !firstSent.has(st.streamId)) firstSent.set(st.streamId, now);
      }, 40);
      await call.waitFor((m: any) => m.type === "recording" && m.state === "started");
      const t0 = performance.now();
      const video = camera.getVideoTracks()[0];
      if (o.disableVideo) {
        await sleep(o.disableVideo.from * 1000);
        video.enabled = false;
        await sleep((o.disableVideo.to - o.disableVideo.from) * 1000);
        video.enabled = true;
        await sleep((o.seconds - o.disableVideo.to) * 1000);
      } else if (o.pauseVideo) {
        const sender = call.pc.getSenders().find((x: RTCRtpSender) => x.track === video);
        await sleep(o.pauseVideo.from * 1000);
        await sender.replaceTrack(null);
        await sleep((o.pauseVideo.to - o.pauseVideo.from) * 1000);
        await sender.replaceTrack(video);
        await sleep((o.seconds - o.pauseVideo.to) * 1000);
      } else {
        await sleep(o.seconds * 1000);
      }
      // End the media first, so the senders' counters are final when read and match what could be recorded.
      const mediaSeconds = (performance.now() - t0) / 1000;
      const connectedSeconds = (performance.now() - tConnected) / 1000;
      const pair = await call.selectedPair();
      clearInterval(drawTimer);
      clearInterval(poller);
      const tStopped = performance.now();
      for (const s of streams) s.getTracks().forEach((t) => t.stop());
      const videoSeconds = Object.fromEntries([...firstSent].map(([id, t]) => [id, (tStopped - t) / 1000]));
      await sleep(500);
      const stats = await call.senderStats();
      // Read before stop(): Firefox throws on a closed connection's descriptions.
      const localSdp = call.pc.localDescription?.sdp ?? "";
      const remoteSdp = call.pc.remoteDescription?.sdp ?? "";
      const recordings = await call.stop();
      return {
        sessionId: call.sessionId, role: o.role ?? "publish",
        localSdp, remoteSdp,
        streamIds: streams.map((s) => s.id), stats, recordings, errors: call.errors, mediaSeconds, connectedSeconds, videoSeconds, pair,
      };
    } catch (err) {
      const debug = { localSdp: call.pc.localDescription?.sdp, remoteSdp: call.pc.remoteDescription?.sdp, stats: await call.senderStats().catch(() => []) };
      call.pc.close();
      call.ws?.close();
      return { errors: [...call.errors, { code: "page_error", message: String(err) }], recordings: [], ...debug } as any;
    } finally {
      clearInterval(drawTimer);
      clearInterval(poller);
      for (const s of streams) s.getTracks().forEach((t) => t.stop());
    }
  }, options);
}
