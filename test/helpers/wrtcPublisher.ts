import wrtc from "@roamhq/wrtc";
import { PALETTE } from "./browser.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";

/**
 * A publisher on libwebrtc in Node (`@roamhq/wrtc`, which ships Google's libwebrtc as a prebuilt addon):
 * generated media through its nonstandard sources, signaled over recbot's /ws like any browser.
 * Video: 320x240 I420 at 30 fps in the palette colours (one second each, as the Chromium capture files), so the
 * same colour-sequence check applies. Audio: a 1 kHz tone, 10 ms of 48 kHz mono PCM per call.
 */
const WIDTH = 320;
const HEIGHT = 240;
const FPS = 30;
const RATE = 48000;
export const WRTC_TONE_HZ = 1000;

export interface WrtcPublishResult {
  offer: string;
  answer: string;
  sessionId: string;
  /** outbound-rtp counters read after the sources stopped. */
  video: { framesSent: number; framesEncoded: number; packetsSent: number; codecMime?: string };
  audio: { packetsSent: number };
  /** Seconds the generated media ran. */
  mediaSeconds: number;
  recordings: any[];
  errors: any[];
}

function i420(rgb: readonly [number, number, number]): Uint8ClampedArray {
  const [r, g, b] = rgb;
  // BT.601 limited range, the matrix ffmpeg assumes for untagged 4:2:0 video.
  const y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256;
  const u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256;
  const v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256;
  const frame = new Uint8ClampedArray(WIDTH * HEIGHT * 1.5);
  frame.fill(y, 0, WIDTH * HEIGHT);
  frame.fill(u, WIDTH * HEIGHT, WIDTH * HEIGHT * 1.25);
  frame.fill(v, WIDTH * HEIGHT * 1.25);
  return frame;
}

export async function publishWithWrtc({ wsUrl, videoCodec, seconds }: { wsUrl: string; videoCodec: "VP8" | "VP9" | "AV1"; seconds: number }): Promise<WrtcPublishResult> {
  const { RTCPeerConnection, RTCRtpSender, MediaStream, nonstandard } = wrtc as any;
  const frames = PALETTE.map((c) => i420(c.rgb));
  const ws = new WsClient(wsUrl);
  const pc = new RTCPeerConnection({ iceServers: [] });
  const videoSource = new nonstandard.RTCVideoSource();
  const audioSource = new nonstandard.RTCAudioSource();
  const videoTrack = videoSource.createTrack();
  const audioTrack = audioSource.createTrack();
  const stream = new MediaStream([videoTrack, audioTrack]);
  let timer: NodeJS.Timeout | undefined;
  try {
    await ws.opened();
    pc.onicecandidate = ({ candidate }: any) => ws.send({ type: "candidate", candidate: candidate ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex } : null });
    const video = pc.addTransceiver(videoTrack, { direction: "sendonly", streams: [stream] });
    pc.addTransceiver(audioTrack, { direction: "sendonly", streams: [stream] });
    const codecs = RTCRtpSender.getCapabilities("video").codecs as { mimeType: string }[];
    video.setCodecPreferences(codecs.filter((c) => [`video/${videoCodec}`.toLowerCase(), "video/rtx"].includes(c.mimeType.toLowerCase())));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    ws.send({ type: "offer", sdp: offer.sdp });
    const answer = await ws.waitFor((m) => m.type === "answer" || m.type === "error");
    if (answer.type === "error") throw new Error(`recbot refused the offer: ${answer.code} ${answer.message}`);
    ws.socket.on("message", (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === "candidate" && m.candidate) pc.addIceCandidate(m.candidate).catch(() => {});
    });
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    for (const m of ws.messages.filter((x) => x.type === "candidate" && x.candidate)) await pc.addIceCandidate(m.candidate).catch(() => {});
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`wrtc did not connect: ${pc.connectionState}`)), 15_000);
      const check = () => {
        if (pc.connectionState === "connected") (clearTimeout(deadline), resolve());
        if (pc.connectionState === "failed") (clearTimeout(deadline), reject(new Error("wrtc connection failed")));
      };
      pc.onconnectionstatechange = check;
      check();
    });

    // Media clocked by elapsed time, so a late timer tick catches up instead of stretching the stream.
    const start = performance.now();
    let videoSent = 0, audioSent = 0;
    const tone = new Int16Array(RATE / 100);
    await new Promise<void>((resolve) => {
      timer = setInterval(() => {
        const elapsed = (performance.now() - start) / 1000;
        const end = Math.min(elapsed, seconds);
        while (videoSent < end * FPS) {
          const colour = Math.floor(videoSent / FPS) % frames.length;
          videoSource.onFrame({ width: WIDTH, height: HEIGHT, data: frames[colour] });
          videoSent++;
        }
        while (audioSent < end * 100) {
          for (let i = 0; i < tone.length; i++) tone[i] = Math.round(0.5 * 32767 * Math.sin((2 * Math.PI * WRTC_TONE_HZ * (audioSent * tone.length + i)) / RATE));
          audioSource.onData({ samples: tone, sampleRate: RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: tone.length });
          audioSent++;
        }
        if (elapsed >= seconds) resolve();
      }, 5);
    });
    clearInterval(timer);
    const mediaSeconds = (performance.now() - start) / 1000;
    await new Promise((r) => setTimeout(r, 500));
    const result: WrtcPublishResult = {
      offer: offer.sdp, answer: answer.sdp, sessionId: answer.sessionId, mediaSeconds,
      video: { framesSent: 0, framesEncoded: 0, packetsSent: 0 }, audio: { packetsSent: 0 }, recordings: [], errors: [],
    };
    const report = await pc.getStats();
    const codecById = new Map<string, string>();
    report.forEach((s: any) => s.type === "codec" && codecById.set(s.id, s.mimeType));
    report.forEach((s: any) => {
      if (s.type !== "outbound-rtp") return;
      if (s.kind === "video") result.video = { framesSent: s.framesSent, framesEncoded: s.framesEncoded, packetsSent: s.packetsSent, codecMime: codecById.get(s.codecId) };
      else result.audio = { packetsSent: s.packetsSent };
    });
    ws.send({ type: "bye" });
    await ws.closed();
    result.recordings = ws.messages.filter((m) => m.type === "recording" && m.state !== "started");
    result.errors = ws.messages.filter((m) => m.type === "error");
    return result;
  } finally {
    clearInterval(timer);
    videoTrack.stop();
    audioTrack.stop();
    pc.close();
    ws.close();
  }
}
