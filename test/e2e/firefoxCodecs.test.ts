import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import type { Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab } from "../helpers/browserLab.ts";
import { analyseTone, frameChroma } from "../helpers/content.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import { asPageHost, launchFirefox } from "../helpers/firefox.ts";
import { openRecbotPage, pageCall, type SenderStats } from "../helpers/pageCall.ts";
import { pageWhip } from "../helpers/pageWhip.ts";
import { docType } from "../helpers/verify.ts";

/**
 * Firefox (Debian's firefox-esr) publishes from its fake devices: a solid colour that shifts every frame and a
 * ~1 kHz tone. Its camera delivers frames every 27–40 ms, so the decode check passes frames through with their own
 * timestamps (probe.ts) instead of forcing a constant rate. H.264 is not tested: Firefox's H.264 is the OpenH264
 * plugin, which it downloads at run time, and this machine reaches no download site.
 */
const SECONDS = 4;
const TONE_HZ = 1000;
/**
 * Duration vs Opus packets sent × 20 ms. Firefox keeps sending audio until hang-up, but its fake microphone can stall
 * for a moment on this busy machine; recbot fills such a gap with silence (audio keeps its time), so the file can
 * be a little longer than the packet count says: seen once at +5.2 %. Frames are checked one by one below.
 */
const DURATION_TOLERANCE = 0.08;

interface Case { codec: "VP8" | "VP9" | "AV1"; signaling: "ws" | "whip" | "call" }
const cases: Case[] = [
  { codec: "VP8", signaling: "ws" },
  { codec: "VP9", signaling: "ws" },
  { codec: "AV1", signaling: "ws" },
  { codec: "VP8", signaling: "whip" },
  { codec: "VP9", signaling: "whip" },
  { codec: "AV1", signaling: "whip" },
  // recbot calls Firefox ({"type":"call"}) and offers one codec per kind, the one the client asks for.
  { codec: "VP8", signaling: "call" },
  { codec: "VP9", signaling: "call" },
];

interface Checked { file: string; seconds: number; expectedSeconds: number; framesSent: number; framesRecorded: number; peakHz: number; hueSteps: number }

/** The file against what Firefox says it sent (getStats just before hang-up). */
async function check(file: string, codec: string, stats: SenderStats[]): Promise<Checked> {
  const p = await probe(file);
  expect(await docType(file)).toBe("webm");
  expect(stream(p, "video").codec_name).toBe(codec.toLowerCase());
  expect(stream(p, "audio").codec_name).toBe("opus");
  const video = stats.find((s) => s.kind === "video")!;
  const audio = stats.find((s) => s.kind === "audio")!;
  const framesRecorded = Number(stream(p, "video").nb_read_frames);
  const chroma = await frameChroma(file);
  const r: Checked = {
    file, seconds: Number(p.format.duration), expectedSeconds: audio.packetsSent * 0.02, framesSent: video.framesSent ?? 0, framesRecorded,
    peakHz: (await analyseTone(file)).peakHz,
    // The fake camera's hue moves every frame (its brightness stays): count frames whose chroma differs from the previous one.
    hueSteps: chroma.filter(([u, v], i) => i > 0 && (u !== chroma[i - 1][0] || v !== chroma[i - 1][1])).length,
  };
  const detail = `${codec}: ${r.seconds.toFixed(3)} s (expected ${r.expectedSeconds.toFixed(3)}), frames ${r.framesSent} sent / ${r.framesRecorded} recorded, tone ${r.peakHz} Hz, ${r.hueSteps} hue changes`;
  expect(await decodeErrors(file), detail).toBe("");
  expect(Math.abs(r.seconds - r.expectedSeconds) / r.expectedSeconds, detail).toBeLessThanOrEqual(DURATION_TOLERANCE);
  expect(r.framesRecorded / r.framesSent, detail).toBeGreaterThanOrEqual(0.95);
  expect(r.framesRecorded, detail).toBeLessThanOrEqual(r.framesSent);
  expect(Math.abs(r.peakHz - TONE_HZ), detail).toBeLessThanOrEqual(20);
  expect(r.hueSteps, detail).toBeGreaterThan(r.framesRecorded / 2);
  return r;
}

describe("Firefox publishes VP8, VP9 and AV1 with Opus through /ws and WHIP; recbot records them", () => {
  let lab: Lab<Browser>;
  let dir: string;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    lab = await startLab("firefox", launchFirefox);
    ({ dir, base } = lab);
    page = await openRecbotPage(asPageHost(lab.browser), base);
  });
  afterAll(() => lab?.close());

  it.each(cases)("$codec + Opus through $signaling: codec, frames, duration, clean decode, the tone", async ({ codec, signaling }) => {
    let file: string, stats: SenderStats[], offer: string;
    if (signaling === "ws" || signaling === "call") {
      const result = await pageCall(page, {
        wsUrl: base.replace("http", "ws") + "/ws", seconds: SECONDS,
        ...(signaling === "call" ? { role: "call", callCodecs: [codec.toLowerCase(), "opus"] } : { codecs: { video: `video/${codec}`, audio: "audio/opus" } }),
      });
      expect(result.errors).toEqual([]);
      expect(result.recordings).toHaveLength(1);
      expect(result.recordings[0].state).toBe("finished");
      // The browser's offer, or recbot's when it calls.
      ({ stats } = result);
      offer = signaling === "call" ? result.remoteSdp : result.localSdp;
      file = path.join(dir, result.recordings[0].file); // recbot names files inside its recordings directory
    } else {
      const result = await pageWhip(page, { whipUrl: `${base}/whip`, codecs: { video: `video/${codec}`, audio: "audio/opus" }, seconds: SECONDS });
      expect(result.errors).toEqual([]);
      expect(result.recordings).toHaveLength(1);
      expect(result.recordings[0].state).toBe("finished");
      ({ stats, offer } = result);
      file = path.join(dir, result.recordings[0].file); // recbot names files inside its recordings directory
    }
    // The offer (Firefox's after setCodecPreferences, or recbot's): the chosen codec first on the m-line.
    const videoLine = /^m=video \d+ \S+ (\d+)/m.exec(offer)!;
    expect(new RegExp(`^a=rtpmap:${videoLine[1]} ${codec}/90000`, "m").test(offer)).toBe(true);
    const r = await check(file, codec, stats);
    const meta = JSON.parse(await readFile(file.replace(/\.webm$/, ".json"), "utf8"));
    expect(meta.tracks, `${r.file}`).toEqual([{ kind: "audio", codec: "opus" }, { kind: "video", codec: codec.toLowerCase() }]);
  });
});
