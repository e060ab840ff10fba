import { readFile } from "node:fs/promises";
import { expect } from "vitest";
import type { CaptureFiles } from "./browser.ts";
import { analyseColours, analyseTone } from "./content.ts";
import { decodeErrors, probe } from "../../src/testkit/probe.ts";
import type { PageCallResult } from "./pageCall.ts";

export interface Verified {
  file: string;
  container: string;
  videoCodec?: string;
  audioCodec?: string;
  audioChannels?: number;
  seconds: number;
  expectedSeconds: number;
  framesSent: number;
  framesRecorded: number;
  peakHz?: number;
  colours: Awaited<ReturnType<typeof analyseColours>>;
  decodeErrors: string;
}

/** The EBML DocType of a Matroska-family file: "webm" or "matroska". */
export async function docType(file: string): Promise<string> {
  const head = (await readFile(file)).subarray(0, 64);
  const at = head.indexOf(Buffer.from([0x42, 0x82])); // DocType element id
  if (at < 0) return "unknown";
  const size = head[at + 2] & 0x7f; // 1-byte size vint: enough for "webm"/"matroska"
  return head.subarray(at + 3, at + 3 + size).toString("ascii");
}

/** Probes, decodes and analyses one recorded file against what the browser says it sent. */
export async function verifyFile(file: string, result: PageCallResult, streamId: string, files: CaptureFiles, videoOnlySeconds?: number): Promise<Verified> {
  const p = await probe(file);
  const v = p.streams.find((s) => s.codec_type === "video");
  const a = p.streams.find((s) => s.codec_type === "audio");
  const sentVideo = result.stats.find((s) => s.kind === "video" && s.streamId === streamId);
  const sentAudio = result.stats.find((s) => s.kind === "audio" && s.streamId === streamId);
  const framesSent = sentVideo?.framesSent ?? 0;
  // Expected duration: audio packets are 20 ms each; a video-only stream by the wall time the caller measured.
  const expectedSeconds = sentAudio ? sentAudio.packetsSent * 0.02 : (videoOnlySeconds ?? framesSent / files.fps);
  return {
    file,
    container: await docType(file),
    videoCodec: v?.codec_name,
    audioCodec: a?.codec_name,
    audioChannels: a?.channels,
    seconds: Number(p.format.duration),
    expectedSeconds,
    framesSent,
    framesRecorded: Number(v?.nb_read_frames ?? 0),
    peakHz: a ? (await analyseTone(file)).peakHz : undefined,
    colours: await analyseColours(file),
    decodeErrors: await decodeErrors(file),
  };
}

/** The checks of issue 3, shared by every Chromium test. */
export function expectGoodRecording(r: Verified, files: CaptureFiles, { audio, seconds }: { audio: boolean; seconds: number }): void {
  expect(r.decodeErrors).toBe("");
  expect(Math.abs(r.seconds - r.expectedSeconds) / r.expectedSeconds).toBeLessThanOrEqual(0.05);
  expect(r.framesRecorded / r.framesSent).toBeGreaterThanOrEqual(0.95);
  if (audio) expect(Math.abs((r.peakHz ?? 0) - files.toneHz)).toBeLessThanOrEqual(10);
  expect(r.colours.classified / r.colours.frames).toBeGreaterThanOrEqual(0.9);
  expect(r.colours.inOrder).toBeGreaterThanOrEqual(seconds - 1);
  expect(r.colours.outOfOrder).toBe(0);
}

