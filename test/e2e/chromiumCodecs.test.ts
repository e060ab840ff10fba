import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CaptureFiles } from "../helpers/browser.ts";
import { startBrowserLab, type BrowserLab } from "../helpers/browserLab.ts";
import { analyseTone, h264Layout } from "../helpers/content.ts";
import { expectGoodRecording, verifyFile } from "../helpers/verify.ts";
import { pageCall } from "../helpers/pageCall.ts";

const SECONDS = 4;
const run = promisify(execFile);

interface Case {
  name: string;
  video: string;
  audio: string;
  container: "webm" | "mkv";
  videoCodec: string;
  audioCodec: string;
}

const cases: Case[] = [
  { name: "VP8 + Opus", video: "video/VP8", audio: "audio/opus", container: "webm", videoCodec: "vp8", audioCodec: "opus" },
  { name: "VP9 + Opus", video: "video/VP9", audio: "audio/opus", container: "webm", videoCodec: "vp9", audioCodec: "opus" },
  { name: "VP9 profile 2 + Opus", video: "video/VP9;profile-id=2", audio: "audio/opus", container: "webm", videoCodec: "vp9", audioCodec: "opus" },
  { name: "AV1 + Opus", video: "video/AV1", audio: "audio/opus", container: "webm", videoCodec: "av1", audioCodec: "opus" },
  { name: "H.264 constrained baseline 42e01f + PCMU", video: "video/H264;profile-level-id=42e01f;packetization-mode=1", audio: "audio/PCMU", container: "mkv", videoCodec: "h264", audioCodec: "pcm_mulaw" },
  { name: "H.264 baseline 42001f + PCMA", video: "video/H264;profile-level-id=42001f;packetization-mode=1", audio: "audio/PCMA", container: "mkv", videoCodec: "h264", audioCodec: "pcm_alaw" },
  { name: "H.264 main 4d001f + Opus", video: "video/H264;profile-level-id=4d001f;packetization-mode=1", audio: "audio/opus", container: "mkv", videoCodec: "h264", audioCodec: "opus" },
];

describe("Chromium publishes each codec it offers; recbot records it without transcoding", () => {
  let lab: BrowserLab;
  let page: Page;
  let files: CaptureFiles;
  let wsUrl: string;
  let dir: string;
  const matrix: string[] = [];

  beforeAll(async () => {
    lab = await startBrowserLab("codecs");
    ({ page, files, wsUrl, dir } = lab);
  });
  afterAll(async () => {
    await lab?.close();
  });

  it.each(cases)("$name is recorded into $container with its content intact", async (c) => {
    const offered = await page.evaluate(() => RTCRtpSender.getCapabilities("video")!.codecs.map((x: RTCRtpCodec) => `${x.mimeType} ${x.sdpFmtpLine ?? ""}`));
    const [mime, ...params] = c.video.split(";");
    const available = offered.some((o: string) => o.startsWith(mime + " ") && params.every((p) => o.split(" ")[1].split(";").includes(p)));
    let line = `${c.name} → ${c.container} → `;
    if (!available) matrix.push(line + "not offered by this Chromium");
    expect(available, `Chromium does not offer ${c.video}; it offers ${offered.join(" | ")}`).toBe(true);
    try {
      const result = await pageCall(page, { wsUrl, codecs: { video: c.video, audio: c.audio }, seconds: SECONDS });
      expect(result.errors).toEqual([]);
      expect(result.recordings).toHaveLength(1);
      const rec = result.recordings[0];
      expect(rec.state).toBe("finished");
      expect(path.extname(rec.file)).toBe(`.${c.container}`);
      const recFile = path.join(dir, rec.file); // the page gets the name in the recordings directory
      const r = await verifyFile(recFile, result, result.streamIds[0], files);
      line += `${r.videoCodec}+${r.audioCodec} → `;
      expect(r.videoCodec).toBe(c.videoCodec);
      if (c.videoCodec === "h264") {
        const layout = await h264Layout(recFile);
        expect(layout.extradata.slice(0, 2)).toBe("01"); // avcC configurationVersion
        expect(layout.firstPacket.slice(0, 8)).not.toBe("00000001"); // length-prefixed, not Annex-B
      }
      expect(r.audioCodec).toBe(c.audioCodec);
      expect(r.container).toBe(c.container === "webm" ? "webm" : "matroska");
      const meta = JSON.parse(await readFile(recFile.replace(/\.\w+$/, ".json"), "utf8"));
      expect(meta).toMatchObject({ state: "finished", sessionId: result.sessionId });
      expectGoodRecording(r, files, { audio: true, seconds: SECONDS });
      const v = result.stats.find((x) => x.kind === "video");
      matrix.push(line + `pass → encoded ${v?.framesEncoded} / sent ${r.framesSent} / recorded ${r.framesRecorded}`);
    } catch (err) {
      matrix.push(line + `FAIL (${String(err).split("\n")[0].slice(0, 120)})`);
      throw err;
    }
  });
});

describe("Chromium edge cases of codec negotiation", () => {
  let lab: BrowserLab;
  let page: Page;
  let files: CaptureFiles;
  let dir: string;
  let base: string;

  beforeAll(async () => {
    lab = await startBrowserLab("neg");
    ({ page, files, dir, base } = lab);
  });
  afterAll(() => lab?.close());

  it("keeps Opus stereo when the offer asks for it (stereo=1), and the tone survives", async () => {
    const wsUrl = base.replace("http", "ws") + "/ws";
    const result = await pageCall(page, { wsUrl, codecs: { video: "video/VP8", audio: "audio/opus" }, seconds: 2, stereo: true });
    expect(result.errors).toEqual([]);
    expect(result.remoteSdp).toMatch(/^a=fmtp:\d+ .*stereo=1/m);
    const file = path.join(dir, result.recordings[0].file);
    // The TOC byte's "s" bit (RFC 6716 §3.1) says whether the packet is coded in stereo.
    const { stdout } = await run("ffprobe", ["-v", "error", "-select_streams", "a", "-read_intervals", "%+#5", "-show_packets", "-show_data", "-of", "json", file]);
    const tocs = (JSON.parse(stdout).packets as { data: string }[]).map((pk) => parseInt(pk.data.split(":")[1].trim().slice(0, 2), 16));
    expect(tocs.length).toBeGreaterThan(0);
    expect(tocs.every((t) => (t & 0x04) !== 0)).toBe(true);
    expect((await analyseTone(file)).peakHz).toBeGreaterThanOrEqual(files.toneHz - 10);
  });

  it("answers a codec it cannot record with unsupported_codec and leaves nothing behind", async () => {
    const wsUrl = base.replace("http", "ws") + "/ws";
    const before = readdirSync(dir).length;
    const result = await pageCall(page, { wsUrl, codecs: { video: "video/VP8", audio: "audio/G722" }, seconds: 1 });
    expect(result.errors.map((e) => e.code)).toContain("unsupported_codec");
    expect(result.errors[0].message).toMatch(/g722/i);
    expect(readdirSync(dir).length).toBe(before);
    const health = await (await fetch(`${base}/healthz`)).json();
    expect(health.sessions).toBe(0);
  });
});
