import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRecbot, type Recbot } from "../index.ts";
import { measureAvSync } from "../testkit/avSync.ts";
import { makeClip } from "../testkit/clip.ts";
import { EchoMeter, type EchoMetrics, type SeriesPoint } from "../testkit/echoMeter.ts";
import type { ClientIceOptions } from "../testkit/peer.ts";
import { decodeErrors, probe } from "../testkit/probe.ts";
import { publish } from "../testkit/publisher.ts";
import { htmlReport } from "./htmlReport.ts";
import { createProgress } from "./progress.ts";
import { defaultThresholds, evaluate, type Check, type RecordingCheck, type Thresholds } from "./thresholds.ts";

export interface LoopbackOptions extends ClientIceOptions {
  /** recbot's base URL (http://host:port); without one, a recbot is started in-process on 127.0.0.1. */
  url?: string;
  /** Seconds of media to send (default 10). */
  seconds?: number;
  /** Where report.json and report.html go (default ./loopback-report). */
  outDir?: string;
  thresholds?: Partial<Thresholds>;
  /** Recordings directory of the in-process recbot (default: a temporary directory). */
  recordingsDir?: string;
  /** Verify the server-side recording (default true: read in place in-process, else downloaded through the API). */
  checkRecording?: boolean;
  /** Progress and summary output (default: process.stderr / nothing). */
  progress?: NodeJS.WritableStream | false;
}

export interface LoopbackReport {
  startedAt: string;
  target: string;
  secondsSent: number;
  thresholds: Thresholds;
  metrics: EchoMetrics;
  series: SeriesPoint[];
  recording: RecordingCheck | { error: string } | { skipped: true };
  checks: Check[];
  passed: boolean;
  files: { json: string; html: string };
}

/** A recording fetched from recbot's API into a temporary file, or why it could not be. */
async function download(base: string, recordingId: string | undefined): Promise<string | { error: string }> {
  if (!recordingId) return { error: "no finished recording reported" };
  const url = `${base.replace(/\/$/, "")}/recordings/${encodeURIComponent(recordingId)}/file`;
  const res = await fetch(url).catch((err: Error) => ({ ok: false, status: err.message }) as const);
  if (!res.ok) return { error: `recording not downloadable from ${url}: ${res.status}` };
  const file = path.join(mkdtempSync(path.join(tmpdir(), "recbot-loopback-check-")), `${recordingId}.webm`);
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

async function checkRecording(file: string | undefined): Promise<RecordingCheck | { error: string }> {
  if (!file) return { error: "no finished recording reported" };
  if (!existsSync(file)) return { error: `recording not readable here: ${file}` };
  try {
    const p = await probe(file);
    return {
      file,
      codecs: p.streams.map((s) => s.codec_name),
      durationS: Number(p.format.duration),
      videoFrames: Number(p.streams.find((s) => s.codec_type === "video")?.nb_read_frames ?? 0),
      audioFrames: Number(p.streams.find((s) => s.codec_type === "audio")?.nb_read_frames ?? 0),
      decodeErrors: await decodeErrors(file),
      avOffsetMs: (await measureAvSync(file)).meanMs,
    };
  } catch (err) {
    return { error: `cannot read recording: ${(err as Error).message.split("\n")[0]}` };
  }
}

/**
 * The automated media test: publishes a flash/beep VP8 + Opus signal to recbot over /ws in echo
 * mode, measures what comes back, verifies the server-side recording, and writes JSON + HTML reports.
 */
export async function runLoopback(options: LoopbackOptions = {}): Promise<LoopbackReport> {
  const seconds = options.seconds ?? 10;
  const thresholds = { ...defaultThresholds, ...options.thresholds };
  const outDir = path.resolve(options.outDir ?? "loopback-report");
  const out = options.progress === undefined ? process.stderr : options.progress;
  const startedAt = new Date().toISOString();

  let recbot: Recbot | undefined;
  let base = options.url;
  if (!base) {
    recbot = await createRecbot({
      host: "127.0.0.1", port: 0, iceAddresses: ["127.0.0.1"], logLevel: "warn",
      recordingsDir: options.recordingsDir ?? mkdtempSync(path.join(tmpdir(), "recbot-loopback-")),
    });
    base = await recbot.listen();
  }
  const wsUrl = base.replace(/^http/, "ws").replace(/\/$/, "") + "/ws";

  const clip = await makeClip({ seconds: Math.min(seconds, 5), pattern: "flash" });
  const meter = new EchoMeter(performance.now(), clip.fps);
  const progress = out ? createProgress(out) : undefined;
  const showProgress = (elapsedS: number) => {
    const m = meter.metrics();
    progress?.update({ elapsedS, totalS: seconds, framesSent: m.video.framesSent, framesReturned: m.video.framesReturned, rttMs: m.video.rttMs.median });
  };
  let ticker: NodeJS.Timeout | undefined;
  let sending = false;
  let recording: RecordingCheck | { error: string } | { skipped: true };
  try {
    const result = await publish({
      url: wsUrl, clip, seconds,
      ice: { iceAddresses: options.iceAddresses ?? (recbot ? ["127.0.0.1"] : []), iceServers: options.iceServers },
      // A recbot elsewhere offers its own addresses; an in-process one only loopback.
      acceptRemoteCandidate: recbot ? undefined : () => true,
      onEcho: (kind, p) => meter.received(kind, p.header.timestamp, p.header.marker, p.payload.length, performance.now()),
      onFrame: (f) => meter.sent(f),
      onSending: () => {
        sending = true;
        const sendStart = performance.now();
        meter.begin(sendStart);
        ticker = setInterval(() => showProgress((performance.now() - sendStart) / 1000), 1000);
      },
      onSent: async () => {
        await new Promise((r) => setTimeout(r, 500)); // the echo of the last frames is on its way
        clearInterval(ticker);
        showProgress(seconds);
        progress?.done();
      },
    }).catch((err: Error) => {
      if (!sending) throw err; // no media went out: the run itself failed
      return { finished: { state: "failed", error: err.message } };
    });
    const finished = result.finished;
    if (options.checkRecording === false) recording = { skipped: true };
    else if (finished.state !== "finished") recording = { error: `recording ${finished.state}: ${finished.error ?? ""}` };
    // recbot names the file relative to its recordings directory: read it there when recbot runs in-process,
    // else download it through the recordings API (GET /recordings/:id/file).
    else if (recbot) recording = await checkRecording(path.resolve(recbot.config.recordingsDir, finished.file));
    else {
      const fetched = await download(base, finished.recordingId);
      recording = typeof fetched === "string" ? await checkRecording(fetched) : fetched;
    }
  } finally {
    clearInterval(ticker);
    rmSync(path.dirname(clip.files.video), { recursive: true, force: true });
    await recbot?.close();
  }
  const metrics: EchoMetrics = meter.metrics();
  const series: SeriesPoint[] = meter.series();

  const checks = evaluate(metrics, recording, seconds, thresholds);
  mkdirSync(outDir, { recursive: true });
  const files = { json: path.join(outDir, "report.json"), html: path.join(outDir, "report.html") };
  const report: LoopbackReport = {
    startedAt, target: options.url ?? `in-process recbot (${base})`, secondsSent: seconds, thresholds, metrics, series, recording, checks,
    passed: checks.every((c) => c.pass), files,
  };
  await writeFile(files.json, JSON.stringify(report, null, 2) + "\n");
  await writeFile(files.html, htmlReport(report));
  return report;
}

