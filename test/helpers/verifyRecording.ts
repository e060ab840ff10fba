import path from "node:path";
import { expect } from "vitest";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import type { PublishResult } from "../../src/testkit/publisher.ts";

export interface RecordingCheck {
  file: string;
  durationSeconds: number;
  videoFramesSent: number;
  videoFramesRecorded: number;
  audioFramesRecorded: number;
}

export interface VerifyOptions {
  /** recbot's recordings directory: `finished.file` is a name relative to it. */
  dir: string;
  size?: [number, number];
  /** Largest relative difference between the file's duration and the seconds sent. */
  durationTolerance?: number;
  /** Smallest share of the sent video frames the file must hold. */
  minFrameRatio?: number;
}

/** The checks of the skeleton test: VP8+Opus WebM, 320x240, duration within 5 %, >= 98 % of frames, clean decode. */
export async function verifyRecording(
  result: Pick<PublishResult, "finished" | "secondsSent"> & { framesSent: { video: number; audio: number } },
  { dir, size = [320, 240], durationTolerance = 0.05, minFrameRatio = 0.98 }: VerifyOptions,
): Promise<RecordingCheck> {
  expect(result.finished.state).toBe("finished");
  expect(path.isAbsolute(result.finished.file), "clients get file names, not server paths").toBe(false);
  const file = path.join(dir, result.finished.file as string);
  const p = await probe(file);
  expect(p.format.format_name).toContain("webm");
  const v = stream(p, "video");
  const a = stream(p, "audio");
  expect(v.codec_name).toBe("vp8");
  expect(a.codec_name).toBe("opus");
  expect([v.width, v.height]).toEqual(size);
  const durationSeconds = Number(p.format.duration);
  expect(Math.abs(durationSeconds - result.secondsSent) / result.secondsSent).toBeLessThan(durationTolerance);
  const videoFramesRecorded = Number(v.nb_read_frames);
  expect(videoFramesRecorded / result.framesSent.video).toBeGreaterThanOrEqual(minFrameRatio);
  expect(videoFramesRecorded).toBeLessThanOrEqual(result.framesSent.video);
  expect(await decodeErrors(file)).toBe("");
  return { file, durationSeconds, videoFramesSent: result.framesSent.video, videoFramesRecorded, audioFramesRecorded: Number(a.nb_read_frames) };
}
