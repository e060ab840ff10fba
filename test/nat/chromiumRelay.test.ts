/**
 * Chromium, forced to relay (`iceTransportPolicy: "relay"`) with credentials from GET /ice-servers, publishes
 * its fake camera and microphone to recbot through coturn (deploy/turnserver.conf on 127.0.0.1). Self-contained:
 * the page script does what a browser client does (getUserMedia, /ws signaling, trickle ICE, getStats).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { startCoturn, type Coturn } from "../helpers/coturn.ts";
import { verifyRecording } from "../helpers/verifyRecording.ts";

const SECRET = "chromium-relay-secret";
const SECONDS = 3;
const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
  "--allow-loopback-in-peer-connection",
];

interface PageResult {
  connectMs: number;
  localCandidateType: string;
  remoteCandidateType: string;
  localAddress: string;
  framesSent: number;
  sentSeconds: number;
  finished: any;
  sessionId: string;
}

describe("Chromium forced to relay publishes through coturn", () => {
  let coturn: Coturn;
  let recbot: Recbot;
  let browser: Browser;
  let base: string;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-chromium-relay-"));

  beforeAll(async () => {
    coturn = await startCoturn({ ip: "127.0.0.1", secret: SECRET, extraArgs: ["--allow-loopback-peers", "--allowed-peer-ip=127.0.0.1"] });
    recbot = await createRecbot({
      host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"],
      clientIceServers: [coturn.turnUrl], turnSecret: SECRET, logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn",
    });
    base = await recbot.listen();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await recbot?.close();
    await coturn?.stop();
  });

  it("records it, and getStats shows a relay local candidate on the selected pair", async () => {
    const page = await browser.newPage();
    page.on("console", (m) => m.type() === "error" && console.log(`[chromium] ${m.text()}`));
    await page.goto(`${base}/healthz`); // same origin for fetch; http://127.0.0.1 is a secure context
    const result: PageResult = await page.evaluate(async ({ seconds }) => {
      const browserGlobal = globalThis as any; // this runs in the page; the project's TS config has no DOM types
      const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const iceServers = await (await fetch("/ice-servers")).json();
      const stream = await browserGlobal.navigator.mediaDevices.getUserMedia({
        video: { width: 320, height: 240, frameRate: 30 },
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
      const pc = new browserGlobal.RTCPeerConnection({ iceServers, iceTransportPolicy: "relay" });
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
      const ws = new WebSocket(`ws://${browserGlobal.location.host}/ws`);
      const messages: any[] = [];
      const waiters: { match: (m: any) => boolean; resolve: (m: any) => void }[] = [];
      ws.onmessage = (e: any) => {
        const m = JSON.parse(e.data);
        messages.push(m);
        if (m.type === "candidate" && m.candidate) void pc.addIceCandidate(m.candidate).catch(() => {});
        for (const w of waiters.splice(0)) (w.match(m) ? w.resolve(m) : waiters.push(w));
      };
      const waitFor = (match: (m: any) => boolean, ms = 20000) =>
        new Promise<any>((resolve, reject) => {
          const seen = messages.find(match);
          if (seen) return resolve(seen);
          waiters.push({ match, resolve });
          setTimeout(() => reject(new Error(`timeout; got ${JSON.stringify(messages).slice(0, 400)}`)), ms);
        });
      await new Promise((r) => (ws.onopen = r));
      pc.onicecandidate = (e: any) => ws.send(JSON.stringify({ type: "candidate", candidate: e.candidate ? e.candidate.toJSON() : null }));
      await pc.setLocalDescription(await pc.createOffer());
      const offerAt = performance.now();
      ws.send(JSON.stringify({ type: "offer", sdp: pc.localDescription!.sdp }));
      const answer = await waitFor((m) => m.type === "answer" || m.type === "error");
      if (answer.type === "error") throw new Error(`${answer.code}: ${answer.message}`);
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      while (pc.connectionState !== "connected") {
        if (pc.connectionState === "failed" || performance.now() - offerAt > 20000) throw new Error(`not connected: ${pc.connectionState}`);
        await wait(10);
      }
      const connectedAt = performance.now();
      await wait(seconds * 1000);
      const stats: any[] = [];
      (await pc.getStats()).forEach((s: any) => stats.push(s));
      const transport = stats.find((s) => s.type === "transport");
      const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId);
      const local = stats.find((s) => s.id === pair?.localCandidateId);
      const remote = stats.find((s) => s.id === pair?.remoteCandidateId);
      const video = stats.find((s) => s.type === "outbound-rtp" && s.kind === "video");
      const sentSeconds = (performance.now() - connectedAt) / 1000;
      ws.send(JSON.stringify({ type: "bye" }));
      const finished = await waitFor((m) => m.type === "recording" && (m.state === "finished" || m.state === "failed"), 30000);
      // Frames sent, counted once the recording is final: the count read before `bye` missed frames sent between the
      // two (a full run recorded 60 of a counted 59).
      const after: any[] = [];
      (await pc.getStats()).forEach((s: any) => after.push(s));
      const framesSent = after.find((s) => s.type === "outbound-rtp" && s.kind === "video")?.framesSent ?? video?.framesSent ?? 0;
      pc.close();
      for (const t of stream.getTracks()) t.stop();
      return {
        connectMs: connectedAt - offerAt,
        localCandidateType: local?.candidateType, remoteCandidateType: remote?.candidateType, localAddress: `${local?.address}:${local?.port}`,
        framesSent, sentSeconds, finished, sessionId: answer.sessionId,
      };
    }, { seconds: SECONDS });

    expect(result.localCandidateType).toBe("relay");
    await verifyRecording(
      { finished: result.finished, framesSent: { video: result.framesSent, audio: 0 }, secondsSent: result.sentSeconds },
      // Media starts at ICE+DTLS connect and recording at the first keyframe; the browser's own frame count is
      // read a moment before `bye`: allow a little slack both ways.
      { dir, size: [320, 240], durationTolerance: 0.1, minFrameRatio: 0.9 },
    );
    await page.close();
  });
});
