/**
 * What a call composite costs: two participants' 640x360 VP8 + Opus recordings (as recbot writes them) composed
 * into one file, H.264 + AAC MP4 and VP9 + Opus WebM, with recbot's settings (one thread, niced).
 * Reports speed factors: seconds of call per second of wall time, and per second of ffmpeg CPU time (one core).
 *
 *   npm exec -- node bench/composite.ts [--seconds 30] [--format mp4|webm|both] [--fps 30]
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { promisify } from "node:util";
import pino from "pino";
import { Compositor, type CompositeFormat } from "../src/calls/composite/compositor.ts";

const run = promisify(execFile);
const { values } = parseArgs({ options: { seconds: { type: "string", default: "30" }, format: { type: "string", default: "both" }, fps: { type: "string", default: "30" } } });
const seconds = Number(values.seconds);
const dir = mkdtempSync(path.join(tmpdir(), "recbot-bench-composite-"));

async function participantFile(name: string, source: string, tone: number): Promise<string> {
  const file = path.join(dir, `${name}.webm`);
  await run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", `${source}=size=640x360:rate=30`, "-f", "lavfi", "-i", `sine=f=${tone}:r=48000`,
    "-t", String(seconds), "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "800k", "-c:a", "libopus", "-b:a", "48k", file]);
  return file;
}

const [a, b] = await Promise.all([participantFile("a", "testsrc2", 440), participantFile("b", "testsrc", 880)]);
const compositor = new Compositor({ log: pino({ level: "warn" }) as never, width: 1280, height: 720, fps: Number(values.fps), niceness: 10, threads: 1 });
const t0 = Date.now();
const formats: CompositeFormat[] = values.format === "both" ? ["mp4", "webm"] : [values.format as CompositeFormat];
for (const format of formats) {
  const load = loadavg()[0];
  const result = await compositor.run({
    key: "bench", format, output: path.join(dir, `out.${format}`), startMs: t0, endMs: t0 + seconds * 1000,
    participants: [
      { id: "a", name: "Alice", joinedMs: t0, media: [{ file: a, originMs: t0, hasVideo: true, hasAudio: true }] },
      { id: "b", name: "Bob", joinedMs: t0, media: [{ file: b, originMs: t0, hasVideo: true, hasAudio: true }] },
    ],
  });
  console.log(JSON.stringify({
    format, fps: Number(values.fps), callSeconds: seconds, wallSeconds: +(result.elapsedMs / 1000).toFixed(2), cpuSeconds: +result.cpuSeconds.toFixed(2),
    speedWall: +result.speed.toFixed(2), speedPerCore: +result.cpuSpeed.toFixed(2), loadAverageAtStart: +load.toFixed(2),
  }));
}
