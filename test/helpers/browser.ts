import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser } from "playwright-core";

const run = promisify(execFile);

/** The colours the fake camera shows, one per second, in this order (RGB). */
export const PALETTE: readonly { name: string; rgb: [number, number, number] }[] = [
  { name: "red", rgb: [255, 0, 0] },
  { name: "green", rgb: [0, 255, 0] },
  { name: "blue", rgb: [0, 0, 255] },
  { name: "yellow", rgb: [255, 255, 0] },
];

export interface CaptureFiles {
  y4m: string;
  wav: string;
  toneHz: number;
  fps: number;
  width: number;
  height: number;
  /** Seconds each palette colour is shown. */
  colourSeconds: number;
}

/**
 * Known content for Chromium's fake devices: a 320x240 picture that changes colour every second
 * (red, green, blue, yellow, looped by Chromium) and a pure tone. y4m is raw, so keep it small.
 */
export async function makeCaptureFiles({ toneHz = 1000, fps = 30 } = {}): Promise<CaptureFiles> {
  const dir = path.join(tmpdir(), `recbot-capture-${toneHz}-${fps}`);
  mkdirSync(dir, { recursive: true });
  const y4m = path.join(dir, "clip.y4m");
  const wav = path.join(dir, "clip.wav");
  const width = 320, height = 240;
  if (!existsSync(y4m)) {
    const inputs = PALETTE.flatMap((c) => ["-f", "lavfi", "-i", `color=c=0x${c.rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}:s=${width}x${height}:r=${fps}:d=1`]);
    const concat = `${PALETTE.map((_, i) => `[${i}:v]`).join("")}concat=n=${PALETTE.length}:v=1:a=0,format=yuv420p[v]`;
    await run("ffmpeg", ["-v", "error", "-y", ...inputs, "-filter_complex", concat, "-map", "[v]", `${y4m}.tmp.y4m`]);
    await run("mv", [`${y4m}.tmp.y4m`, y4m]);
  }
  if (!existsSync(wav)) {
    await run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", `sine=frequency=${toneHz}:sample_rate=48000:duration=${PALETTE.length}`,
      "-ac", "1", "-c:a", "pcm_s16le", `${wav}.tmp.wav`]);
    await run("mv", [`${wav}.tmp.wav`, wav]);
  }
  return { y4m, wav, toneHz, fps, width, height, colourSeconds: 1 };
}

/** Debian's Chromium, headless, fake media devices (from files when given), loopback candidates allowed (docs/lab.md). */
export async function launchChromium(files?: CaptureFiles): Promise<Browser> {
  const args = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
  ];
  if (files) args.push(`--use-file-for-fake-video-capture=${files.y4m}`, `--use-file-for-fake-audio-capture=${files.wav}`);
  return chromium.launch({ executablePath: process.env.RECBOT_CHROMIUM ?? "/usr/bin/chromium", headless: true, args });
}
