import type { StepResult } from "./step.ts";

const f = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits));
const pair = (p: { p50: number | null; p95: number | null }) => `${f(p.p50, 0)} / ${f(p.p95, 0)}`;

/** A step is clean when nothing was lost, every publisher finished and every file demuxes and decodes without an error. */
export function isClean(r: StepResult): boolean {
  return r.publishersOk === r.n && r.frames.video.lost === 0 && r.frames.audio.lost === 0 && r.decodeErrors.files === 0 && r.containerErrors.files === 0;
}

/** Clean, in sync, and every frame interval in every file within 1 ms of the one sent. */
export function isExact(r: StepResult): boolean {
  return isCleanAndInSync(r) && r.intervals.compared > 0 && r.intervals.off === 0;
}

/** Clean, and audio and video within ±20 ms of how they were sent. */
export function isCleanAndInSync(r: StepResult): boolean {
  return isClean(r) && r.av.maxAbsOffsetMs !== null && r.av.maxAbsOffsetMs <= 20;
}

/** % of a core used by the server's busiest thread in the steady window (null when not measured). */
export function busiestThreadPct(r: StepResult): number | null {
  return r.cpu.steadyThreads[0]?.pct ?? null;
}

export function markdownTable(results: StepResult[]): string {
  const head = [
    "N", "server", "CPU % core (tree / node / busiest thread)", "CPU-ms per stream-s (steady / total)", "node RSS MB (peak / per session)",
    "ffmpeg MB per session (RSS / PSS)", "video frames sent / lost", "audio frames sent / lost", "files with decode / container errors",
    "offer→answer ms p50 / p95", "offer→keyframe on disk ms p50 / p95", "bye→file final ms p50 / p95", "event-loop lag p99 ms",
    "max A/V offset ms (timing spread)", "intervals off > 1 ms (files / intervals / worst ms)", "PSS MB per session (node + ffmpeg)",
    "load gen CPU % (per publisher)", "other CPU %",
  ];
  const rows = results.map((r) => [
    r.loadgenLimited ? `${r.n} ⚠` : r.n, r.server,
    `${f(r.cpu.steadyTreePct)} / ${f(r.cpu.steadyNodePct)} / ${f(busiestThreadPct(r))}`,
    `${f(r.cpu.steadyTreeMsPerStreamSecond, 2)} / ${f(r.cpu.totalTreeMsPerStreamSecond, 2)}`,
    `${f(r.memory.nodeMaxRssMB, 0)} / ${f(r.memory.nodeRssPerSessionMB, 2)}`,
    r.server === "recbot" ? `${f(r.memory.ffmpegRssPerSessionMB)} / ${f(r.memory.ffmpegPssPerSessionMB)}` : "no ffmpeg",
    `${r.frames.video.sent} / ${r.frames.video.lost}`,
    `${r.frames.audio.sent} / ${r.frames.audio.lost}`,
    `${r.decodeErrors.files} / ${r.containerErrors.files} of ${r.frames.files}`,
    pair(r.latencyMs.offerToAnswer), pair(r.latencyMs.offerToKeyframeOnDisk), pair(r.latencyMs.byeToFinalized),
    f(r.eventLoopLagMs.p99),
    `${f(r.av.maxAbsOffsetMs)} (${f(r.av.maxTimingSpreadMs)})`,
    r.intervals ? `${r.intervals.filesWithOff} / ${r.intervals.off} of ${r.intervals.compared} / ${f(r.intervals.worstMs, 2)}` : "–",
    r.memory.pssPerSessionMB !== undefined ? `${f(r.memory.pssPerSessionMB)} (${f(r.memory.nodePssPerSessionMB)} + ${r.server === "recbot" ? f(r.memory.ffmpegPssPerSessionMB) : "0"})` : "–",
    `${f(r.loadgen.steadyPct)} (${f(r.loadgen.steadyPctPerPublisher, 2)})`, f(r.otherSteadyPct),
  ]);
  const table = [`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
  const warn = results.some((r) => r.loadgenLimited)
    ? "\n\n⚠ the load generator fell more than 100 ms behind its real-time schedule in this step (see loadgen.maxLateMs): it then sent a burst, so part of the loss is the load's, not the server's."
    : "";
  return table + warn;
}

export interface Ratio {
  n: number;
  cpuMsPerStreamSecondSteady: number | null;
  cpuMsPerStreamSecondTotal: number | null;
  nodeRssPerSession: number | null;
  offerToAnswerP50: number | null;
  offerToKeyframeOnDiskP50: number | null;
  byeToFinalizedP50: number | null;
  eventLoopLagP99: number | null;
  lostFrames: { recbot: number; baseline: number };
}

const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b !== 0 ? Math.round((a / b) * 100) / 100 : null);

/** recbot ÷ baseline for every N that ran both (below 1 means recbot uses less / is faster). */
export function ratios(results: StepResult[]): Ratio[] {
  const out: Ratio[] = [];
  for (const r of results.filter((x) => x.server === "recbot")) {
    const b = results.find((x) => x.server === "baseline" && x.n === r.n);
    if (!b) continue;
    out.push({
      n: r.n,
      cpuMsPerStreamSecondSteady: ratio(r.cpu.steadyTreeMsPerStreamSecond, b.cpu.steadyTreeMsPerStreamSecond),
      cpuMsPerStreamSecondTotal: ratio(r.cpu.totalTreeMsPerStreamSecond, b.cpu.totalTreeMsPerStreamSecond),
      nodeRssPerSession: ratio(r.memory.nodeRssPerSessionMB, b.memory.nodeRssPerSessionMB),
      offerToAnswerP50: ratio(r.latencyMs.offerToAnswer.p50, b.latencyMs.offerToAnswer.p50),
      offerToKeyframeOnDiskP50: ratio(r.latencyMs.offerToKeyframeOnDisk.p50, b.latencyMs.offerToKeyframeOnDisk.p50),
      byeToFinalizedP50: ratio(r.latencyMs.byeToFinalized.p50, b.latencyMs.byeToFinalized.p50),
      eventLoopLagP99: ratio(r.eventLoopLagMs.p99, b.eventLoopLagMs.p99),
      lostFrames: { recbot: r.frames.video.lost + r.frames.audio.lost, baseline: b.frames.video.lost + b.frames.audio.lost },
    });
  }
  return out;
}

export function ratioTable(rs: Ratio[]): string {
  if (!rs.length) return "";
  const head = ["N", "CPU-ms/stream-s steady", "CPU-ms/stream-s total", "node RSS per session", "offer→answer p50", "offer→keyframe p50", "bye→final p50", "loop lag p99", "lost frames recbot / baseline"];
  const rows = rs.map((r) => [r.n, f(r.cpuMsPerStreamSecondSteady, 2), f(r.cpuMsPerStreamSecondTotal, 2), f(r.nodeRssPerSession, 2), f(r.offerToAnswerP50, 2), f(r.offerToKeyframeOnDiskP50, 2), f(r.byeToFinalizedP50, 2), f(r.eventLoopLagP99, 2), `${r.lostFrames.recbot} / ${r.lostFrames.baseline}`]);
  return [`recbot ÷ baseline (werift MediaRecorder):`, "", `| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export interface Headline {
  /** Largest N whose recbot step lost nothing and decoded cleanly (null: none). */
  kneeN: number | null;
  /** …and also kept A/V within ±20 ms. */
  kneeNInSync: number | null;
  /** …and also every frame interval within 1 ms of the one sent. */
  kneeNExact: number | null;
  /** recbot CPU-ms per recorded stream-second at N=20, or at the step nearest to 20. */
  cpuMsPerStreamSecond: { n: number; steady: number | null; total: number | null } | null;
  baselineCpuMsPerStreamSecond: { n: number; steady: number | null; total: number | null } | null;
}

export function headline(results: StepResult[]): Headline {
  const recbot = results.filter((r) => r.server === "recbot");
  const clean = recbot.filter(isClean).map((r) => r.n);
  const inSync = recbot.filter(isCleanAndInSync).map((r) => r.n);
  const exact = recbot.filter(isExact).map((r) => r.n);
  const near = (rs: StepResult[]) => [...rs].sort((a, b) => Math.abs(a.n - 20) - Math.abs(b.n - 20) || b.n - a.n)[0];
  const r20 = near(recbot);
  const b20 = r20 ? results.find((r) => r.server === "baseline" && r.n === r20.n) : undefined;
  const cpu = (r: StepResult | undefined) => (r ? { n: r.n, steady: r.cpu.steadyTreeMsPerStreamSecond, total: r.cpu.totalTreeMsPerStreamSecond } : null);
  return {
    kneeN: clean.length ? Math.max(...clean) : null,
    kneeNInSync: inSync.length ? Math.max(...inSync) : null,
    kneeNExact: exact.length ? Math.max(...exact) : null,
    cpuMsPerStreamSecond: cpu(r20),
    baselineCpuMsPerStreamSecond: cpu(b20),
  };
}

export function headlineText(h: Headline): string {
  const cpu = h.cpuMsPerStreamSecond;
  const base = h.baselineCpuMsPerStreamSecond;
  return [
    `Largest N with zero lost frames and no decode or container errors: ${h.kneeN ?? "none"} (also A/V within ±20 ms: ${h.kneeNInSync ?? "none"}; also every frame interval within 1 ms: ${h.kneeNExact ?? "none"})`,
    cpu ? `recbot CPU-ms per stream-second at N=${cpu.n}: ${f(cpu.steady, 2)} steady, ${f(cpu.total, 2)} over the whole step` +
      (base ? ` (werift MediaRecorder: ${f(base.steady, 2)} / ${f(base.total, 2)})` : "") : "",
  ].filter(Boolean).join("\n");
}
