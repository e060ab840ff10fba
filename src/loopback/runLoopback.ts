import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { MediaStream, MediaStreamTrack, type RtpPacket } from "werift";
import { createRecbot, type Recbot } from "../index.ts";
import { clientPeer, waitConnected, type ClientIceOptions } from "./clientPeer.ts";
import { EchoMeter, type EchoMetrics, type SeriesPoint } from "./echoMeter.ts";
import { htmlReport } from "./htmlReport.ts";
import { sendClip } from "./pacer.ts";
import { avOffsetMs, decodeErrors, probe, syncMarks } from "./probe.ts";
import { createProgress } from "./progress.ts";
import { summaryTable } from "./summaryTable.ts";
import { makeClip } from "./testSignal.ts";
import { Signaling } from "./wsSignaling.ts";
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
  /** Verify the server-side recording (default true; needs the file readable from here). */
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

async function checkRecording(file: string | undefined): Promise<RecordingCheck | { error: string }> {
  if (!file) return { error: "no finished recording reported" };
  if (!existsSync(file)) return { error: `recording not readable here: ${file}` };
  try {
    const p = await probe(file);
    const marks = await syncMarks(file);
    return {
      file,
      codecs: p.streams.map((s) => s.codec_name),
      durationS: Number(p.format.duration),
      videoFrames: Number(p.streams.find((s) => s.codec_type === "video")?.nb_read_frames ?? 0),
      audioFrames: Number(p.streams.find((s) => s.codec_type === "audio")?.nb_read_frames ?? 0),
      decodeErrors: await decodeErrors(file),
      avOffsetMs: avOffsetMs(marks),
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

  const clip = await makeClip({ seconds: Math.min(seconds, 5), flash: true });
  const pc = clientPeer({ iceAddresses: options.iceAddresses ?? (recbot ? ["127.0.0.1"] : []), iceServers: options.iceServers });
  const video = new MediaStreamTrack({ kind: "video" });
  const audio = new MediaStreamTrack({ kind: "audio" });
  const stream = new MediaStream([video, audio]);
  pc.addTransceiver(video, { direction: "sendrecv", streams: [stream] });
  pc.addTransceiver(audio, { direction: "sendrecv", streams: [stream] });

  const meter = new EchoMeter(performance.now(), clip.fps);
  pc.ontrack = ({ track }) => {
    const kind = track.kind as "video" | "audio";
    track.onReceiveRtp.subscribe((p: RtpPacket) => meter.received(kind, p.header.timestamp, p.header.marker, p.payload.length, performance.now()));
  };
  const signaling = new Signaling(wsUrl, (m) => {
    if (m.type === "candidate" && m.candidate) void pc.addIceCandidate(m.candidate).catch(() => {});
  });
  const progress = out ? createProgress(out) : undefined;
  let ticker: NodeJS.Timeout | undefined;
  let metrics: EchoMetrics;
  let series: SeriesPoint[];
  let recording: RecordingCheck | { error: string } | { skipped: true };
  try {
    await signaling.opened();
    pc.onIceCandidate.subscribe((c) => signaling.send({ type: "candidate", candidate: c ? c.toJSON() : null }));
    await pc.setLocalDescription(await pc.createOffer());
    signaling.send({ type: "offer", sdp: pc.localDescription!.sdp, mode: "echo" });
    const answer = await signaling.waitFor((m) => m.type === "answer" || m.type === "error", 20_000, "the answer");
    if (answer.type === "error") throw new Error(`recbot refused the offer: ${answer.code}: ${answer.message}`);
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    await waitConnected(pc);

    const sendStart = performance.now();
    meter.begin(sendStart);
    let framesSent = 0;
    ticker = setInterval(() => {
      const m = meter.metrics();
      progress?.update({ elapsedS: (performance.now() - sendStart) / 1000, totalS: seconds, framesSent, framesReturned: m.video.framesReturned, rttMs: m.video.rttMs.median });
    }, 1000);
    await sendClip(clip, seconds, video, audio, {
      onFrame: (f) => {
        meter.sent(f);
        if (f.kind === "video") framesSent++;
      },
    });
    await new Promise((r) => setTimeout(r, 500)); // the echo of the last frames is on its way
    clearInterval(ticker);
    progress?.update({ elapsedS: seconds, totalS: seconds, framesSent, framesReturned: meter.metrics().video.framesReturned, rttMs: meter.metrics().video.rttMs.median });
    progress?.done();
    metrics = meter.metrics();
    series = meter.series();

    signaling.send({ type: "bye" });
    const finished = await signaling
      .waitFor((m) => m.type === "recording" && (m.state === "finished" || m.state === "failed"), 30_000, "the recording to finish")
      .catch((err: Error) => ({ state: "failed", error: err.message }));
    if (options.checkRecording === false) recording = { skipped: true };
    else recording = finished.state === "finished" ? await checkRecording(finished.file) : { error: `recording ${finished.state}: ${finished.error ?? ""}` };
  } finally {
    clearInterval(ticker);
    signaling.socket.close();
    await pc.close();
    await recbot?.close();
  }

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

export { summaryTable };
