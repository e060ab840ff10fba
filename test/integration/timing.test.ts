import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { measureAvSync } from "../../src/testkit/avSync.ts";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { decodeErrors } from "../../src/testkit/probe.ts";
import { publish, type PublishOptions } from "../../src/testkit/publisher.ts";
import { LossyRelay } from "../helpers/lossyRelay.ts";

const run = promisify(execFile);

/**
 * Frame timing of recorded files against what was sent: every interval between two frames in the file must be
 * the sender's RTP timestamp delta (the clip sends video at exactly 3000 ticks = 33.33 ms per frame and audio at
 * 960 = 20 ms), within 1 ms of Matroska's millisecond rounding. A/V offset from the first second for senders with
 * correct RTCP sender reports: within ±20 ms.
 */

interface Intervals {
  /** Intervals in the file. */
  count: number;
  /** Intervals that are not a whole number of sent frame intervals, within 1 ms. */
  off: number;
  /** Largest distance of an interval from the nearest whole number of sent frame intervals (ms). */
  worstMs: number;
}

/** Packets of one stream: presentation time (ms) and size. */
async function packets(file: string, stream: "v:0" | "a:0"): Promise<{ ms: number; size: number }[]> {
  const { stdout } = await run("ffprobe", ["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time,size", "-of", "csv=p=0", file], { maxBuffer: 64 << 20 });
  return stdout.trim().split("\n").map((line) => {
    const [pts, size] = line.split(",").map(Number);
    return { ms: pts * 1000, size };
  }).sort((a, b) => a.ms - b.ms);
}

/**
 * Compares each interval with the sent frame interval. A lost frame is a double interval, not a timing error; the
 * silent 3-byte Opus frames recbot pads with are not sent media and are left out (`minSize`).
 */
function intervals(list: { ms: number; size: number }[], frameMs: number, minSize = 0): Intervals {
  const times = list.filter((p) => p.size > minSize).map((p) => p.ms);
  let off = 0;
  let worstMs = 0;
  for (let i = 1; i < times.length; i++) {
    const d = times[i] - times[i - 1];
    const deviation = Math.abs(d - Math.max(1, Math.round(d / frameMs)) * frameMs);
    if (deviation > 1 + 1e-6) off++;
    worstMs = Math.max(worstMs, deviation);
  }
  return { count: times.length - 1, off, worstMs };
}

async function fileIntervals(file: string): Promise<{ video: Intervals; audio: Intervals }> {
  return {
    video: intervals(await packets(file, "v:0"), 1000 / 30),
    audio: intervals(await packets(file, "a:0"), 20, 3),
  };
}

const show = (i: Intervals) => `${i.off} of ${i.count} off, worst ${i.worstMs.toFixed(2)} ms`;

describe("timing: frame intervals in the file are the sender's RTP deltas", () => {
  let recbot: Recbot;
  let wsUrl: string;
  let tone: Clip;
  let flash: Clip;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-timing-"));

  beforeAll(async () => {
    [tone, flash] = await Promise.all([makeClip({ seconds: 6 }), makeClip({ seconds: 6, pattern: "flash", gop: 30 })]);
    recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn" });
    wsUrl = (await recbot.listen()).replace("http", "ws") + "/ws";
  });
  afterAll(async () => {
    await recbot?.close();
  });

  async function recordAndMeasure(label: string, options: Partial<PublishOptions> & { clip: Clip }) {
    const result = await publish({ url: wsUrl, ...options });
    expect(result.finished.state).toBe("finished");
    const file = path.join(dir, result.finished.file as string);
    expect(await decodeErrors(file)).toBe("");
    const measured = await fileIntervals(file);
    return { file, ...measured, figures: `${label}: video ${show(measured.video)}; audio ${show(measured.audio)}` };
  }

  it.each([
    { label: "correct SRs", brokenSenderReports: false },
    { label: "werift's broken SRs", brokenSenderReports: true },
  ])("with $label: no video or audio interval off by more than 1 ms", async ({ label, brokenSenderReports }) => {
    const { video, audio, figures } = await recordAndMeasure(label, { clip: tone, brokenSenderReports });
    expect(video.count, figures).toBeGreaterThanOrEqual(170);
    expect(audio.count, figures).toBeGreaterThanOrEqual(290);
    expect(video.off, figures).toBe(0);
    expect(audio.off, figures).toBe(0);
  });

  it("first video frames 800 ms late while sender reports arrive on time: exact intervals, A/V within ±20 ms from the first second", async () => {
    // Video (payload type 96) reaches recbot 800 ms late, audio and sender reports on time.
    const relay = new LossyRelay({ dropRate: 0, holdFirst: { payloadType: 96, ms: 800 } });
    await relay.start();
    try {
      const { file, video, figures } = await recordAndMeasure("late first video frame", { clip: flash, mapCandidate: relay.mapCandidate });
      expect(relay.stats.held).toBeGreaterThan(20); // the relay did hold the first 800 ms of video
      expect(video.count, figures).toBeGreaterThanOrEqual(170);
      expect(video.off, figures).toBe(0);
      const sync = await measureAvSync(file);
      const offsets = `A/V offsets [${sync.offsetsMs.map((o: number) => o.toFixed(0)).join(", ")}] ms (flashes ${sync.flashes}, beeps ${sync.beeps})`;
      expect(sync.flashes, offsets).toBeGreaterThanOrEqual(5);
      expect(sync.offsetsMs, offsets).toHaveLength(sync.flashes);
      expect(sync.maxAbsMs, offsets).toBeLessThanOrEqual(20);
    } finally {
      relay.close();
    }
  });

  it("workers: 2, four publishers at once: every file's intervals exact", async () => {
    const server = await createRecbot({
      host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], workers: 2, logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn",
    });
    try {
      const url = (await server.listen()).replace("http", "ws") + "/ws";
      const results = await Promise.all(Array.from({ length: 4 }, () => publish({ url, clip: tone })));
      for (const [i, result] of results.entries()) {
        expect(result.finished.state).toBe("finished");
        const { video, audio } = await fileIntervals(path.join(dir, result.finished.file));
        const figures = `workers 2, publisher ${i + 1} of 4: video ${show(video)}; audio ${show(audio)}`;
        expect(video.count, figures).toBeGreaterThanOrEqual(170);
        expect(video.off, figures).toBe(0);
        expect(audio.off, figures).toBe(0);
      }
    } finally {
      await server.close();
    }
  });

  it("with correct SRs: A/V within ±20 ms from the first second", async () => {
    const { file, video, figures } = await recordAndMeasure("flash clip", { clip: flash });
    expect(video.off, figures).toBe(0);
    const sync = await measureAvSync(file);
    const offsets = `A/V offsets [${sync.offsetsMs.map((o: number) => o.toFixed(0)).join(", ")}] ms`;
    expect(sync.flashes, offsets).toBeGreaterThanOrEqual(5);
    expect(sync.offsetsMs, offsets).toHaveLength(sync.flashes);
    expect(sync.maxAbsMs, offsets).toBeLessThanOrEqual(20);
  });
});
