import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parseIvf, parseOggOpus, type EncodedFrame } from "./containers.ts";
import { flashSignal } from "./flashSignal.ts";

const run = promisify(execFile);

/** A pre-encoded VP8 + Opus clip, sent in real time by sendClip (pacer.ts). */
export interface Clip {
  video: EncodedFrame[];
  audio: EncodedFrame[];
  fps: number;
  seconds: number;
  /**
   * The same pictures encoded as keyframes only (when asked for with `intra`): a sender answers a
   * keyframe request (PLI) with the intra version of its next frame, as a browser's encoder would.
   */
  intra?: EncodedFrame[];
  /** The encoded files (in a temporary directory), so another process can load the same clip with readClip. */
  files: ClipFiles;
}

export interface ClipFiles {
  video: string;
  audio: string;
  intra?: string;
  fps: number;
  seconds: number;
}

export interface ClipOptions {
  seconds?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Tone frequency in Hz (pattern "testsrc"). */
  tone?: number;
  videoBitrate?: string;
  /** Keyframe interval in frames. */
  gop?: number;
  /** "testsrc": moving test pattern + continuous tone. "flash": the flash/beep signal (flashSignal.ts). */
  pattern?: "testsrc" | "flash";
  /** "flash" pattern: frames each flash lasts (default 1) and the beep's frequency (default 1000 Hz). */
  flashFrames?: number;
  beepHz?: number;
  /** Mute the audio for this span of seconds [from, to) (a silence in the middle of the clip). */
  silence?: [number, number];
  /** Encode Opus with DTX: during silence the encoder emits tiny packets instead of full frames. */
  dtx?: boolean;
  /** Also encode an all-keyframe copy of the video (Clip.intra). */
  intra?: boolean;
}

/** Encodes a test clip to VP8 (IVF) and Opus (Ogg, 20 ms frames, stereo) with ffmpeg, then parses both. */
export async function makeClip(options: ClipOptions = {}): Promise<Clip> {
  const { seconds = 5, width = 320, height = 240, fps = 30, tone = 440, videoBitrate = "600k", gop = 60, pattern = "testsrc" } = options;
  const flash = flashSignal({ width, height, fps, flashFrames: options.flashFrames, beepHz: options.beepHz });
  const videoSource = pattern === "flash" ? flash.video : `testsrc2=size=${width}x${height}:rate=${fps}`;
  let audioExpr = pattern === "flash" ? flash.beep : `0.125*sin(2*PI*${tone}*t)`;
  if (options.silence) audioExpr = `if(between(t\\,${options.silence[0]}\\,${options.silence[1]})\\,0\\,${audioExpr})`;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-clip-"));
  const ivf = path.join(dir, "video.ivf");
  const ogg = path.join(dir, "audio.ogg");
  const intraIvf = options.intra ? path.join(dir, "intra.ivf") : undefined;
  const vp8 = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", videoBitrate, "-auto-alt-ref", "0"];
  await run("ffmpeg", [
    "-v", "error", "-y",
    "-f", "lavfi", "-i", videoSource,
    "-f", "lavfi", "-i", `aevalsrc='${audioExpr}':s=48000`,
    "-t", String(seconds), "-map", "0:v", ...vp8, "-g", String(gop), ivf,
    "-t", String(seconds), "-map", "1:a", "-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-ac", "2", ...(options.dtx ? ["-dtx", "1", "-application", "voip"] : []), ogg,
    ...(intraIvf ? ["-t", String(seconds), "-map", "0:v", ...vp8, "-g", "1", intraIvf] : []),
  ]);
  return readClip({ video: ivf, audio: ogg, intra: intraIvf, fps, seconds });
}

/** Loads a clip that makeClip encoded (possibly in another process). */
export function readClip(files: ClipFiles): Clip {
  const { fps, seconds } = files;
  const intra = files.intra ? parseIvf(readFileSync(files.intra)) : undefined;
  return { video: parseIvf(readFileSync(files.video)), audio: parseOggOpus(readFileSync(files.audio)), intra, fps, seconds, files };
}
