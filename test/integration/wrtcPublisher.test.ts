import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { analyseColours, analyseTone } from "../helpers/content.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import { docType } from "../helpers/verify.ts";
import { publishWithWrtc, WRTC_TONE_HZ } from "../helpers/wrtcPublisher.ts";

/**
 * libwebrtc in Node: `@roamhq/wrtc` 0.10 (Google's libwebrtc as a prebuilt addon from the npm registry; it loads on
 * Node 26) publishes generated I420 frames and PCM through its nonstandard RTCVideoSource/RTCAudioSource over /ws.
 * Its offer: VP8, AV1, VP9 profiles 0 and 2 (no H.264 in this build), Opus, with transport-cc, abs-send-time and
 * the rid extensions.
 */
const SECONDS = 4;
const cases = ["VP8", "VP9", "AV1"] as const;

describe("libwebrtc in Node (@roamhq/wrtc) publishes generated media through /ws; recbot records it", () => {
  let recbot: Recbot;
  let dir: string;
  let wsUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "recbot-wrtc-"));
    recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn" });
    wsUrl = (await recbot.listen()).replace("http", "ws") + "/ws";
  });
  afterAll(() => recbot?.close());

  it.each(cases)("%s + Opus: codec, frames sent vs recorded, duration, clean decode, colours in order, the tone", async (codec) => {
    const r = await publishWithWrtc({ wsUrl, videoCodec: codec, seconds: SECONDS });
    expect(r.errors).toEqual([]);
    expect(r.video.codecMime).toBe(`video/${codec}`);
    expect(r.recordings).toHaveLength(1);
    expect(r.recordings[0].state).toBe("finished");
    const file = path.join(dir, r.recordings[0].file); // recbot names files inside its recordings directory
    const p = await probe(file);
    expect(await docType(file)).toBe("webm");
    expect(stream(p, "video").codec_name).toBe(codec.toLowerCase());
    expect(stream(p, "audio").codec_name).toBe("opus");
    expect([stream(p, "video").width, stream(p, "video").height]).toEqual([320, 240]);
    const seconds = Number(p.format.duration);
    // libwebrtc stamps frames and audio when they are handed to it: the wall time the generator ran (a stalled timer
    // on this busy machine delays both, and the audio packet count would miss that).
    const expectedSeconds = r.mediaSeconds;
    const framesRecorded = Number(stream(p, "video").nb_read_frames);
    const colours = await analyseColours(file);
    const tone = await analyseTone(file);
    const detail = `${codec}: ${seconds.toFixed(3)} s (generated for ${expectedSeconds.toFixed(3)}, audio packets ${r.audio.packetsSent}), ` +
      `frames ${r.video.framesEncoded} encoded / ${r.video.framesSent} sent / ${framesRecorded} recorded, tone ${tone.peakHz} Hz, ` +
      `colours ${colours.classified}/${colours.frames} classified, ${colours.inOrder} changes in order, ${colours.outOfOrder} out`;
    expect(await decodeErrors(file), detail).toBe("");
    expect(Math.abs(seconds - expectedSeconds) / expectedSeconds, detail).toBeLessThanOrEqual(0.05);
    expect(framesRecorded / r.video.framesSent, detail).toBeGreaterThanOrEqual(0.95);
    expect(framesRecorded, detail).toBeLessThanOrEqual(r.video.framesSent);
    expect(Math.abs(tone.peakHz - WRTC_TONE_HZ), detail).toBeLessThanOrEqual(10);
    expect(colours.classified / colours.frames, detail).toBeGreaterThanOrEqual(0.9);
    expect(colours.inOrder, detail).toBeGreaterThanOrEqual(SECONDS - 1);
    expect(colours.outOfOrder, detail).toBe(0);
  });
});
