import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";

const CHROMIUM_ARGS = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
  "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
];

describe("Chromium publishing in echo mode", () => {
  let recbot: Recbot;
  let base: string;
  let browser: Browser;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-chromium-echo-"));

  beforeAll(async () => {
    recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn" });
    base = await recbot.listen();
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await recbot?.close();
  });

  it("gets its own video and audio back, decoded in the page, and recbot records the call", async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/healthz`); // an http://127.0.0.1 origin: a secure context for getUserMedia
    await page.addScriptTag({ path: path.join(import.meta.dirname, "echoPage.js") });
    const result: any = await page.evaluate((wsUrl) => (globalThis as any).runEcho(wsUrl, 4000), base.replace("http", "ws") + "/ws");

    expect(result.error).toBeUndefined();
    expect(result.framesRendered).toBeGreaterThan(30);
    expect(result.videoFramesDecoded).toBeGreaterThan(30);
    expect(result.videoSize).toEqual([320, 240]);
    expect(result.audioSamples).toBeGreaterThan(48000);
    expect(result.audioEnergy).toBeGreaterThan(0); // cumulative; the momentary audioLevel may catch a pause between beeps
    expect(result.analyserPeak).toBeGreaterThan(0.01);

    expect(result.finished.state).toBe("finished");
    const p = await probe(path.join(dir, result.finished.file));
    expect(stream(p, "video").codec_name).toBe("vp8");
    expect(stream(p, "audio").codec_name).toBe("opus");
    expect(Number(stream(p, "video").nb_read_frames)).toBeGreaterThan(30);
    expect(await decodeErrors(path.join(dir, result.finished.file))).toBe("");
  });
});
