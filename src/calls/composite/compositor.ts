import { EventEmitter } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import ffmpeg from "fluent-ffmpeg";
import type { FastifyBaseLogger as Logger } from "fastify";
import { FfmpegExitError, errorMessage } from "../../util/errors.ts";
import { buildPlan, type LayoutParticipant } from "./layout.ts";
import { probeVideoGaps } from "./videoGaps.ts";

export type CompositeFormat = "mp4" | "webm";

export interface CompositeJob {
  /** Who asked: for logs and events. */
  key: string;
  participants: LayoutParticipant[];
  startMs: number;
  endMs: number;
  output: string;
  format: CompositeFormat;
  /** Called with 0–100 while ffmpeg runs (at most a few times a second). */
  onProgress?: (percent: number) => void;
}

export interface CompositeResult {
  durationS: number;
  /** Seconds of call composed per second of wall time. */
  speed: number;
  /** Seconds of call composed per second of CPU time used by ffmpeg (user + system): the cost on one core. */
  cpuSpeed: number;
  elapsedMs: number;
  cpuSeconds: number;
}

export interface CompositorOptions {
  log: Logger;
  width: number;
  height: number;
  fps: number;
  /** Added to ffmpeg's niceness, so live recording keeps the CPU it needs. */
  niceness: number;
  /** ffmpeg's encoder and filter threads (1 = one core). */
  threads: number;
  fontFile?: string;
}

const FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/** ffmpeg output options per format: H.264+AAC MP4 with the index first (plays anywhere), or VP9+Opus WebM. */
export function encoderOptions(format: CompositeFormat, threads: number): string[] {
  const common = ["-threads", String(threads), "-filter_complex_threads", String(threads), "-max_muxing_queue_size", "4096"];
  if (format === "webm") {
    return [...common, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-b:v", "1500k",
      "-pix_fmt", "yuv420p", "-c:a", "libopus", "-b:a", "96k", "-f", "webm"];
  }
  return [...common, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-profile:v", "high",
    "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-f", "mp4"];
}

/** ffmpeg's `-benchmark` line (`bench: utime=1.2s stime=0.1s rtime=…`) → CPU seconds, NaN when absent. */
export function benchCpuSeconds(stderr: string): number {
  const m = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(stderr);
  return m ? Number(m[1]) + Number(m[2]) : NaN;
}

/** "00:01:02.50" → 62.5 */
export function timemarkSeconds(mark: string | undefined): number {
  const m = /^(\d+):(\d+):([\d.]+)$/.exec(mark ?? "");
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : NaN;
}

interface CompositorEvents {
  idle: [];
}

/**
 * Runs composite jobs with ffmpeg, one at a time (a composite is a full decode + encode: two at once would take
 * cores from live sessions), niced, with progress. Jobs queue in the order they come.
 */
export class Compositor extends EventEmitter<CompositorEvents> {
  private readonly options: CompositorOptions;
  private chain: Promise<unknown> = Promise.resolve();
  private running: ffmpeg.FfmpegCommand | undefined;
  private closed = false;
  queued = 0;

  constructor(options: CompositorOptions) {
    super();
    this.options = options;
  }

  /** Queues a job; resolves when its file is written, rejects with the reason ffmpeg failed. */
  run(job: CompositeJob): Promise<CompositeResult> {
    this.queued++;
    const result = this.chain.then(() => this.execute(job));
    this.chain = result.catch(() => {}).finally(() => {
      if (--this.queued === 0) this.emit("idle");
    });
    return result;
  }

  private async execute(job: CompositeJob): Promise<CompositeResult> {
    if (this.closed) throw new FfmpegExitError("recbot is shutting down", { key: job.key });
    const { width, height, fps, log } = this.options;
    const dir = await mkdtemp(path.join(tmpdir(), "recbot-composite-"));
    try {
      const names = new Map(job.participants.map((p, i) => [p.id, path.join(dir, `name${i}.txt`)]));
      for (const p of job.participants) await writeFile(names.get(p.id)!, p.name);
      const participants = await this.withVideoGaps(job);
      const plan = buildPlan({
        participants, startMs: job.startMs, endMs: job.endMs, width, height, fps,
        nameFile: (id) => names.get(id)!, fontFile: this.options.fontFile ?? FONT,
      });
      const filterFile = path.join(dir, "graph.txt");
      await writeFile(filterFile, plan.filter);
      const started = performance.now();
      let cpuSeconds = NaN;
      await new Promise<void>((resolve, reject) => {
        const command = ffmpeg({ niceness: this.options.niceness, logger: undefined });
        for (const file of plan.inputs) command.input(file);
        command
          .outputOptions([
            "-filter_complex_script", filterFile,
            "-map", `[${plan.video}]`, ...(plan.audio ? ["-map", `[${plan.audio}]`] : []),
            "-t", String(plan.durationS), "-r", String(fps), "-benchmark",
            ...encoderOptions(job.format, this.options.threads), "-y",
          ])
          .output(job.output);
        let lastReport = 0;
        command.on("start", (cmdline: string) => log.debug({ cmdline, key: job.key }, "composite ffmpeg started"));
        command.on("progress", (p: { timemark?: string }) => {
          const now = performance.now();
          if (now - lastReport < 500) return;
          lastReport = now;
          const done = timemarkSeconds(p.timemark);
          if (Number.isFinite(done)) job.onProgress?.(Math.min(99.9, Math.round((1000 * done) / plan.durationS) / 10));
        });
        command.on("end", (_stdout: string | null, stderr: string | null) => {
          cpuSeconds = benchCpuSeconds(String(stderr ?? ""));
          resolve();
        });
        command.on("error", (err: Error, _stdout: string | null, stderr: string | null) => {
          const tail = String(stderr ?? "").trim().split("\n").slice(-4).join(" | ");
          reject(new FfmpegExitError(`composite ffmpeg failed: ${errorMessage(err)}${tail ? ` (${tail})` : ""}`, { key: job.key }));
        });
        this.running = command;
        command.run();
      }).finally(() => {
        this.running = undefined;
      });
      const elapsedMs = performance.now() - started;
      job.onProgress?.(100);
      return { durationS: plan.durationS, elapsedMs, speed: plan.durationS / (elapsedMs / 1000), cpuSeconds, cpuSpeed: plan.durationS / cpuSeconds };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The job's participants with each video file's gaps (camera switched off mid-file) found by ffprobe. */
  private async withVideoGaps(job: CompositeJob): Promise<LayoutParticipant[]> {
    return Promise.all(job.participants.map(async (p) => ({
      ...p,
      media: await Promise.all(p.media.map(async (piece) => {
        if (!piece.hasVideo || piece.videoGaps) return piece;
        try {
          const videoGaps = await probeVideoGaps(piece.file);
          if (videoGaps.length) this.options.log.debug({ key: job.key, file: piece.file, videoGaps }, "composite: video gaps");
          return { ...piece, videoGaps };
        } catch (err) {
          // Without gaps the composite still works; it then holds the last frame through them.
          this.options.log.warn({ key: job.key, file: piece.file, err: errorMessage(err) }, "composite: could not probe video gaps");
          return piece;
        }
      })),
    })));
  }

  /** Stops the running job (its promise rejects) and refuses queued ones; waits until nothing runs. */
  async close(): Promise<void> {
    this.closed = true;
    this.running?.kill("SIGKILL");
    await this.chain.catch(() => {});
  }
}
