import type { EchoMetrics } from "../testkit/echoMeter.ts";

export interface Thresholds {
  /** Packets not returned, percent, per kind. */
  maxLossPct: number;
  /** 95th percentile of the media round trip (send → echoed back), ms. */
  maxRttP95Ms: number;
  maxJitterMs: number;
  maxFreezes: number;
  /** Video frames returned / sent. */
  minFramesReturnedRatio: number;
  /** |echoed video lag − echoed audio lag|, ms. */
  maxEchoAvOffsetMs: number;
  /** Video frames in the recording / sent. */
  minRecordedFramesRatio: number;
  /** |beep − flash| in the recording, ms. */
  maxRecordingAvOffsetMs: number;
}

export const defaultThresholds: Thresholds = {
  maxLossPct: 1,
  maxRttP95Ms: 250,
  maxJitterMs: 30,
  maxFreezes: 0,
  minFramesReturnedRatio: 0.98,
  maxEchoAvOffsetMs: 100,
  minRecordedFramesRatio: 0.95,
  maxRecordingAvOffsetMs: 80,
};

export interface RecordingCheck {
  file: string;
  codecs: string[];
  durationS: number;
  videoFrames: number;
  audioFrames: number;
  decodeErrors: string;
  avOffsetMs: number;
}

export interface Check {
  name: string;
  value: string;
  limit: string;
  pass: boolean;
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** Every check of a run, in the order the summary table shows them. */
export function evaluate(m: EchoMetrics, rec: RecordingCheck | { error: string } | { skipped: true }, secondsSent: number, t: Thresholds): Check[] {
  const checks: Check[] = [
    { name: "video frames returned", value: `${m.video.framesReturned}/${m.video.framesSent}`, limit: `≥ ${(t.minFramesReturnedRatio * 100).toFixed(0)} %`, pass: m.video.framesReturned >= t.minFramesReturnedRatio * m.video.framesSent && m.video.framesSent > 0 },
    { name: "audio frames returned", value: `${m.audio.framesReturned}/${m.audio.framesSent}`, limit: `≥ ${(t.minFramesReturnedRatio * 100).toFixed(0)} %`, pass: m.audio.framesReturned >= t.minFramesReturnedRatio * m.audio.framesSent && m.audio.framesSent > 0 },
    { name: "video packet loss", value: `${f(m.video.lossPct, 2)} %`, limit: `≤ ${t.maxLossPct} %`, pass: m.video.lossPct <= t.maxLossPct },
    { name: "audio packet loss", value: `${f(m.audio.lossPct, 2)} %`, limit: `≤ ${t.maxLossPct} %`, pass: m.audio.lossPct <= t.maxLossPct },
    { name: "round trip video (median / p95)", value: `${f(m.video.rttMs.median)} / ${f(m.video.rttMs.p95)} ms`, limit: `p95 ≤ ${t.maxRttP95Ms} ms`, pass: m.video.rttMs.p95 <= t.maxRttP95Ms },
    { name: "round trip audio (median / p95)", value: `${f(m.audio.rttMs.median)} / ${f(m.audio.rttMs.p95)} ms`, limit: `p95 ≤ ${t.maxRttP95Ms} ms`, pass: m.audio.rttMs.p95 <= t.maxRttP95Ms },
    { name: "jitter video / audio", value: `${f(m.video.jitterMs)} / ${f(m.audio.jitterMs)} ms`, limit: `≤ ${t.maxJitterMs} ms`, pass: m.video.jitterMs <= t.maxJitterMs && m.audio.jitterMs <= t.maxJitterMs },
    { name: "freezes (count, longest)", value: `${m.freezes.count}, ${f(m.freezes.longestMs, 0)} ms`, limit: `≤ ${t.maxFreezes}`, pass: m.freezes.count <= t.maxFreezes },
    { name: "echo A/V offset (video − audio)", value: `${f(m.avOffsetMs)} ms`, limit: `|x| ≤ ${t.maxEchoAvOffsetMs} ms`, pass: Math.abs(m.avOffsetMs) <= t.maxEchoAvOffsetMs },
  ];
  if ("skipped" in rec) return checks;
  if ("error" in rec) {
    checks.push({ name: "recording", value: rec.error, limit: "finished, readable", pass: false });
    return checks;
  }
  const durationOk = Math.abs(rec.durationS - secondsSent) / secondsSent < 0.05;
  checks.push(
    { name: "recording codecs", value: rec.codecs.join(" + "), limit: "vp8 + opus", pass: rec.codecs.join("+") === "vp8+opus" },
    { name: "recording duration", value: `${f(rec.durationS, 3)} s`, limit: `${secondsSent} s ± 5 %`, pass: durationOk },
    { name: "recording video frames", value: `${rec.videoFrames}/${m.video.framesSent}`, limit: `≥ ${(t.minRecordedFramesRatio * 100).toFixed(0)} %`, pass: rec.videoFrames >= t.minRecordedFramesRatio * m.video.framesSent },
    { name: "recording decode errors", value: rec.decodeErrors ? rec.decodeErrors.split("\n").length + " lines" : "none", limit: "none", pass: rec.decodeErrors === "" },
    { name: "recording A/V offset (beep − flash)", value: `${f(rec.avOffsetMs)} ms`, limit: `|x| ≤ ${t.maxRecordingAvOffsetMs} ms`, pass: Math.abs(rec.avOffsetMs) <= t.maxRecordingAvOffsetMs },
  );
  return checks;
}
