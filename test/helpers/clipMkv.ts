import { writeFile } from "node:fs/promises";
import { mkvBlockHeader, mkvCluster, mkvHeader } from "../../src/sinks/ffmpegRecorder/mkvStream.ts";
import type { Clip } from "../../src/testkit/clip.ts";

/** Writes a clip straight into a Matroska file with its own timestamps (no network): the measurement's baseline. */
export async function writeClipMkv(clip: Clip, file: string): Promise<void> {
  const parts: Buffer[] = [mkvHeader([{ kind: "video", codec: "vp8" }, { kind: "audio", codec: "opus", sampleRate: 48000, channels: 2 }])];
  const events = [...clip.video.map((f) => ({ track: 1, f })), ...clip.audio.map((f) => ({ track: 2, f }))].sort((a, b) => a.f.time - b.f.time);
  parts.push(mkvCluster(0));
  for (const { track, f } of events) parts.push(mkvBlockHeader(track, Math.round(f.time * 1000), f.keyframe, f.data.length), f.data);
  await writeFile(file, Buffer.concat(parts));
}
