import path from "node:path";
import { readFile } from "node:fs/promises";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CaptureFiles } from "../helpers/browser.ts";
import { startBrowserLab, type BrowserLab } from "../helpers/browserLab.ts";
import { analyseColours, frameLuma, videoPacketTimes } from "../helpers/content.ts";
import { pageCall } from "../helpers/pageCall.ts";
import { expectGoodRecording, verifyFile } from "../helpers/verify.ts";

describe("Chromium: several streams in one call, and a track disabled mid-call", () => {
  let lab: BrowserLab;
  let page: Page;
  let files: CaptureFiles;
  let dir: string;
  let wsUrl: string;

  beforeAll(async () => {
    lab = await startBrowserLab("streams");
    ({ page, files, dir, wsUrl } = lab);
  });
  afterAll(() => lab?.close());

  it("records camera+microphone and a second video-only canvas stream into two files of the same call", async () => {
    const seconds = 4;
    const result = await pageCall(page, { wsUrl, codecs: { video: "video/VP8", audio: "audio/opus" }, seconds, canvasStream: true });
    expect(result.errors).toEqual([]);
    expect(result.recordings).toHaveLength(2);
    const [cameraId, canvasId] = result.streamIds;
    const byStream = new Map(result.recordings.map((r) => [r.streamId, r]));
    expect([...byStream.keys()].sort()).toEqual([cameraId, canvasId].sort());

    const camera = await verifyFile(path.join(dir, byStream.get(cameraId)!.file), result, cameraId, files);
    // The canvas stream has no audio to time it: its media ran from its first frame sent to the end.
    const canvas = await verifyFile(path.join(dir, byStream.get(canvasId)!.file), result, canvasId, files, result.videoSeconds[canvasId]);
    expect(camera.audioCodec).toBe("opus");
    expect(canvas.audioCodec).toBeUndefined();
    expectGoodRecording(camera, files, { audio: true, seconds });
    expectGoodRecording(canvas, files, { audio: false, seconds });

    const metas = await Promise.all(result.recordings.map(async (r) => JSON.parse(await readFile(path.join(dir, r.file.replace(/\.\w+$/, ".json")), "utf8"))));
    expect(new Set(metas.map((m) => m.sessionId))).toEqual(new Set([result.sessionId]));
    expect(metas.map((m) => m.tracks.length).sort()).toEqual([1, 2]);
  });

  it("keeps one recording on the wall-clock timeline when the camera track is disabled for 2 s", async () => {
    const seconds = 5;
    const result = await pageCall(page, { wsUrl, codecs: { video: "video/VP8", audio: "audio/opus" }, seconds, disableVideo: { from: 1.5, to: 3.5 } });
    expect(result.errors).toEqual([]);
    expect(result.recordings).toHaveLength(1);
    const r = await verifyFile(path.join(dir, result.recordings[0].file), result, result.streamIds[0], files);
    const luma = await frameLuma(r.file);
    const black = luma.filter((y) => y < 20).length;
    const lastBlack = luma.length - 1 - [...luma].reverse().findIndex((y) => y < 20);
    const colourAfter = await analyseColours(r.file);
    expect(r.decodeErrors).toBe("");
    expect(Math.abs(r.seconds - r.expectedSeconds) / r.expectedSeconds).toBeLessThanOrEqual(0.05);
    // The file runs from the first frame (sent right after connecting) to the end: the wall time since connecting.
    // Not since `recording: started`: that comes when the stream's sync hold ends, with the held frames in the file.
    expect(Math.abs(r.seconds - result.connectedSeconds) / result.connectedSeconds).toBeLessThanOrEqual(0.1);
    expect(r.framesRecorded / r.framesSent).toBeGreaterThanOrEqual(0.95);
    expect(black).toBeGreaterThan(0); // Chromium sends black frames while the track is disabled
    expect(lastBlack).toBeLessThan(luma.length - 1); // and the picture comes back in the same file
    expect(colourAfter.classified).toBeGreaterThan(luma.length / 2);
    expect(Math.abs((r.peakHz ?? 0) - files.toneHz)).toBeLessThanOrEqual(10);
  });

  it("keeps the timeline when the browser stops sending video for 2 s (replaceTrack(null)) and resumes", async () => {
    const seconds = 5;
    const result = await pageCall(page, { wsUrl, codecs: { video: "video/VP8", audio: "audio/opus" }, seconds, pauseVideo: { from: 1.5, to: 3.5 } });
    expect(result.errors).toEqual([]);
    expect(result.recordings).toHaveLength(1);
    const r = await verifyFile(path.join(dir, result.recordings[0].file), result, result.streamIds[0], files);
    const times = await videoPacketTimes(r.file);
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
    expect(r.decodeErrors).toBe("");
    expect(Math.abs(r.seconds - r.expectedSeconds) / r.expectedSeconds).toBeLessThanOrEqual(0.05);
    expect(r.framesRecorded / r.framesSent).toBeGreaterThanOrEqual(0.95);
    expect(gap).toBeGreaterThan(1.7); // the pause stays a pause: frames after it are not pulled forward
    expect(gap).toBeLessThan(2.5);
    expect(times.at(-1)!).toBeGreaterThan(r.seconds - 0.5); // video resumed in the same file
    // The colours the camera showed during the pause are missing: exactly one jump in the sequence.
    expect(r.colours.outOfOrder).toBe(1);
    expect(r.colours.inOrder).toBeGreaterThanOrEqual(2);
    expect(Math.abs((r.peakHz ?? 0) - files.toneHz)).toBeLessThanOrEqual(10);
  });
});
