import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { makeClip } from "../../src/testkit/clip.ts";
import { decodeErrors } from "../../src/testkit/probe.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { decodedAudioSeconds, packetSpans } from "../helpers/timeline.ts";

describe("silence: Opus DTX and muted audio keep their place on the timeline", () => {
  let recbot: Recbot;
  let wsUrl: string;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-dtx-"));

  beforeAll(async () => {
    recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn" });
    wsUrl = (await recbot.listen()).replace("http", "ws") + "/ws";
  });
  afterAll(async () => {
    await recbot?.close();
  });

  it("pads audio that starts late and stops early (muted microphone) to the video's time", async () => {
    const clip = await makeClip({ seconds: 7 });
    const result = await publish({ url: wsUrl, clip, audioWindow: [1.5, 5] });
    const file = path.join(dir, result.finished.file as string);
    expect(await decodeErrors(file)).toBe("");
    const spans = await packetSpans(file);
    const played = await decodedAudioSeconds(file);
    expect(Math.abs(spans.audio.start - spans.video.start)).toBeLessThan(0.1);
    expect(Math.abs(spans.audio.end - spans.video.end)).toBeLessThan(0.1);
    expect(Math.abs(played - (spans.video.end - spans.video.start))).toBeLessThan(0.1);
  });

  it("keeps audio on the timeline: audio and video cover the same time within 100 ms", async () => {
    // libopus with -dtx 1 emits 3-byte frames in silence; the publisher sends one of them per 400 ms, like a browser.
    const clip = await makeClip({ seconds: 7, silence: [2, 5], dtx: true });
    const result = await publish({ url: wsUrl, clip, dtx: true });
    expect(result.framesSent.suppressed).toBeGreaterThan(100);
    const file = path.join(dir, result.finished.file as string);
    expect(await decodeErrors(file)).toBe("");
    const spans = await packetSpans(file);
    const video = spans.video.end - spans.video.start;
    const audio = spans.audio.end - spans.audio.start;
    const played = await decodedAudioSeconds(file);
    expect(Math.abs(audio - video)).toBeLessThan(0.1);
    expect(Math.abs(spans.audio.start - spans.video.start)).toBeLessThan(0.1);
    expect(Math.abs(played - video)).toBeLessThan(0.1);
  });
});
