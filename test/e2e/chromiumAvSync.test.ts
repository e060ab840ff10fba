import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { measureAvSync } from "../../src/testkit/avSync.ts";
import { flashSignal } from "../../src/testkit/flashSignal.ts";
import { decodeErrors } from "../../src/testkit/probe.ts";
import { videoPacketTimes } from "../helpers/content.ts";

const run = promisify(execFile);

/**
 * Chromium publishes its fake camera and microphone, fed from files holding the flash/beep signal (src/testkit/flashSignal.ts).
 * Chromium plays the two files independently, so the offset measured includes however far apart Chromium started
 * them, not only recbot's timing.
 */
describe("A/V sync of a Chromium publisher's flash/beep capture", () => {
  let recbot: Recbot;
  let browser: Browser;
  let wsUrl: string;
  let baseUrl: string;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-chromium-sync-"));
  const y4m = path.join(dir, "flash.y4m");
  const wav = path.join(dir, "beep.wav");

  beforeAll(async () => {
    // The flash lasts three frames here: Chromium's encoder starts at a low bitrate and needs a few frames for white.
    const signal = flashSignal({ width: 320, height: 240, fps: 30, flashFrames: 3 });
    await run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", `${signal.video},format=yuv420p`, "-t", "10", y4m]);
    await run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", signal.audio, "-t", "10", "-c:a", "pcm_s16le", wav]);
    recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn" });
    baseUrl = await recbot.listen();
    wsUrl = baseUrl.replace("http", "ws") + "/ws";
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        "--allow-loopback-in-peer-connection", `--use-file-for-fake-video-capture=${y4m}`, `--use-file-for-fake-audio-capture=${wav}`,
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await recbot?.close();
  });

  /** One publish of the flash/beep clip from a fresh page; the file's A/V figures and whether the camera kept time. */
  async function recordOnce() {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/healthz`); // a loopback http origin is a secure context: getUserMedia works
    // Plain JS run in the page (the project's TypeScript config has no DOM types).
    await page.evaluate(`(async (url) => {
      const loopback = (c) => / 127\\.0\\.0\\.1 /.test(c);
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: 320, height: 240, frameRate: 30 },
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
      const pc = new RTCPeerConnection({ iceServers: [] });
      for (const t of stream.getTracks()) pc.addTrack(t, stream);
      const ws = new WebSocket(url);
      await new Promise((r) => (ws.onopen = r));
      const w = window;
      w.messages = [];
      w.ws = ws;
      w.pc = pc;
      ws.onmessage = async (e) => {
        const m = JSON.parse(e.data);
        w.messages.push(m);
        if (m.type === "answer") await pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
        if (m.type === "candidate" && m.candidate && loopback(m.candidate.candidate)) await pc.addIceCandidate(m.candidate).catch(() => {});
      };
      pc.onicecandidate = (e) => {
        if (!e.candidate) ws.send(JSON.stringify({ type: "candidate", candidate: null }));
        else if (loopback(e.candidate.candidate)) ws.send(JSON.stringify({ type: "candidate", candidate: e.candidate.toJSON() }));
      };
      await pc.setLocalDescription(await pc.createOffer());
      const sdp = pc.localDescription.sdp.split("\\r\\n").filter((l) => !l.startsWith("a=candidate:") || loopback(l)).join("\\r\\n");
      ws.send(JSON.stringify({ type: "offer", sdp }));
    })(${JSON.stringify(wsUrl)})`);
    await page.waitForFunction("window.pc && window.pc.connectionState === 'connected'", undefined, { timeout: 15_000 });
    await page.waitForTimeout(7000);
    await page.evaluate(`window.ws.send(JSON.stringify({ type: "bye" }))`);
    const finished = await page.waitForFunction(
      `window.messages.find((m) => m.type === "recording" && (m.state === "finished" || m.state === "failed"))`,
      undefined, { timeout: 20_000 },
    ).then((h) => h.jsonValue() as Promise<{ state: string; file: string }>);
    expect(finished.state).toBe("finished");
    const file = path.join(dir, finished.file as string);
    expect(await decodeErrors(file)).toBe("");
    const sync = await measureAvSync(file);
    // Chromium's file-fed fake camera reads the next file frame per capture tick: on a starved machine a late tick
    // makes the picture lag its capture timestamps for good (seen: flashes 1.011–1.26 s apart, then every later
    // offset 40 ms lower; or all seven at −104 ms with every interval 1.000 s, the slip before the first flash).
    // recbot places frames by those timestamps and cannot see it (docs/media.md), so the bound applies only when
    // every flash came on time and no video interval in the file is longer than 1.5 frames (a missed tick).
    const times = await videoPacketTimes(file);
    const longestFrameMs = Math.max(...times.slice(1).map((t, i) => (t - times[i]) * 1000));
    const sourceKeptTime = sync.flashIntervals.every((d) => Math.abs(d - 1) <= 0.02) && longestFrameMs <= 50;
    const figures = `offsets [${sync.offsetsMs.map((o) => o.toFixed(0)).join(", ")}] ms, flash intervals [${sync.flashIntervals.map((d) => d.toFixed(3)).join(", ")}] s, longest video interval ${longestFrameMs.toFixed(0)} ms`;
    await page.close();
    return { sync, sourceKeptTime, figures };
  }

  it("records beeps within ±20 ms of their flashes on average", async () => {
    // Each publish measures Chromium's own start skew between its two file readers plus recbot's error; recbot places
    // by Chromium's SRs, which agree to the millisecond, so its error is the same in every run while the skew is not
    // (seen on a loaded machine: −46 … +28 ms from one run to the next, each run's SR mappings constant). So the bound
    // is on the median of up to three runs whose camera kept time (two within ±20 ms settle it): a systematic error
    // of recbot's moves all of them. Runs whose camera slipped are only held to the ±150 ms bound.
    const good: { meanMs: number; figures: string }[] = [];
    const all: string[] = [];
    const within = () => good.filter((r) => Math.abs(r.meanMs) <= 20).length;
    for (let attempt = 0; attempt < 5 && good.length < 3 && within() < 2; attempt++) {
      const { sync, sourceKeptTime, figures } = await recordOnce();
      all.push(figures);
      expect(sync.offsetsMs.length, figures).toBeGreaterThanOrEqual(5);
      // Whatever the camera did, a slip of its ticks moves the picture by at most ~100 ms (seen: −104 ms): anything
      // larger is recbot's.
      expect(Math.abs(sync.meanMs), figures).toBeLessThanOrEqual(150);
      if (sourceKeptTime) good.push({ meanMs: sync.meanMs, figures });
      else console.warn(`[av-sync chromium] Chromium's camera did not keep time (${figures}); publishing again`);
    }
    if (good.length === 0) {
      console.warn(`[av-sync chromium] the camera slipped in every run; only the ±150 ms bound applied:\n${all.join("\n")}`);
      return;
    }
    const means = good.map((r) => r.meanMs).sort((a, b) => a - b);
    const median = means.length % 2 ? means[means.length >> 1] : (means[means.length / 2 - 1] + means[means.length / 2]) / 2;
    expect(Math.abs(median), `median of the runs whose camera kept time:\n${good.map((r) => r.figures).join("\n")}`).toBeLessThanOrEqual(20);
  }, 180_000);
});
