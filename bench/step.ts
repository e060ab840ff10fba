import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Clip } from "../src/testkit/clip.ts";
import { analyzeFile, type FileAnalysis } from "./analyzeFile.ts";
import type { LoadgenDone, PublisherResult, RunCommand } from "./loadgen.ts";
import { p50p95 } from "./percentiles.ts";
import { machineCpu, memory, threadCpu, threadPcts, treeCpu, type TreeCpu } from "./procStats.ts";
import { ServerProcess, type Lag, type ServerKind } from "./serverProcess.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const MB = 1024 * 1024;
const round = (x: number, digits = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null);

export interface StepInput {
  /** Extra Node/V8 flags for the server process. */
  serverNodeArgs?: string[];
  /** The recbot checkout to run (default: this one). */
  serverTree?: string;
  server: ServerKind;
  n: number;
  seconds: number;
  rampMs: number;
  loadgenProcs: number;
  publisher: "ndc" | "werift";
  clip: Clip;
  clipIndex: Map<string, { kind: "video" | "audio"; time: number }>;
  /** A/V offset of ffmpeg's own mux of the clip (the zero point, see referenceAvOffsetMs). */
  avZeroMs: number;
  /** Write a CPU profile of the server's steady window to this file. */
  cpuProfFile?: string;
  keep: boolean;
  /** recbot's workers option. */
  workers: number;
}

/** Everything measured in one step; numbers rounded for the JSON (null = not measurable). */
export interface StepResult {
  server: ServerKind;
  n: number;
  /** recbot's worker threads (1: sessions on the main thread). */
  workers: number;
  /** Publisher starts were spread over this many ms. */
  rampMs: number;
  secondsPerPublisher: number;
  publishersOk: number;
  streamSeconds: number;
  cpu: {
    /** While every publisher was sending: the whole tree (Node + ffmpeg children) as % of one core. */
    steadyTreePct: number | null;
    /** …of that, the Node process alone (its ceiling is ~100 %: one JS thread plus libuv/V8 helpers). */
    steadyNodePct: number | null;
    /** The Node process's threads (main, workers, GC/libuv helpers) as % of one core, busiest first. */
    steadyThreads: { name: string; pct: number }[];
    steadyTreeMsPerStreamSecond: number | null;
    /** The whole step, from before the first offer until the last file was final: CPU-ms per stream-second. */
    totalTreeMsPerStreamSecond: number | null;
    totalTreeMs: number | null;
    steadyWindowMs: number | null;
  };
  memory: {
    nodeIdleRssMB: number | null;
    nodeMaxRssMB: number | null;
    nodeRssPerSessionMB: number | null;
    ffmpegProcesses: number;
    ffmpegRssPerSessionMB: number | null;
    ffmpegPssPerSessionMB: number | null;
    /** The server's Node process PSS: peak over the steady window, and (peak − idle) ÷ N. */
    nodeMaxPssMB: number | null;
    nodePssPerSessionMB: number | null;
    /** What one more session costs: Node's PSS per session + one ffmpeg's PSS. */
    pssPerSessionMB: number | null;
  };
  frames: {
    video: { sent: number; recorded: number; lost: number };
    audio: { sent: number; recorded: number; lost: number };
    lostFraction: number | null;
    filesWithLoss: number;
    files: number;
  };
  /** Files where the decoders (ffprobe -count_frames) reported errors. */
  decodeErrors: { files: number; sample: string[] };
  /** Files where the demuxer reported errors (e.g. werift's "Unknown-sized element"): playable, but not a clean file. */
  containerErrors: { files: number; sample: string[] };
  latencyMs: {
    offerToAnswer: { p50: number | null; p95: number | null };
    offerToKeyframeOnDisk: { p50: number | null; p95: number | null };
    byeToFinalized: { p50: number | null; p95: number | null };
  };
  eventLoopLagMs: { p99: number | null; max: number | null };
  av: { maxAbsOffsetMs: number | null; maxTimingSpreadMs: number | null; filesMeasured: number };
  /**
   * Frame intervals in every file vs what was sent (bench/frameIntervals.ts): consecutive frames compared,
   * intervals off by more than 1 ms, files with any, and the worst deviation (ms).
   */
  intervals: { compared: number; off: number; filesWithOff: number; worstMs: number | null; video: { off: number; worstMs: number | null }; audio: { off: number; worstMs: number | null } };
  loadgen: {
    publisher: "ndc" | "werift";
    steadyPct: number | null;
    /** steadyPct ÷ N: the generator's own cost per publisher (% of one core). */
    steadyPctPerPublisher: number | null;
    totalMs: number | null;
    lagP99Ms: number | null;
    maxLateMs: number | null;
    keyframesOnRequest: number;
    /** Peer connections that had to be retried (libjuice's missing nomination, see ndcPublisher.ts). */
    connectRetries: number;
  };
  /**
   * The load generator fell more than LATE_LIMIT_MS behind its real-time schedule: it then sent a burst,
   * which no browser does, so losses in this step are not all the server's doing.
   */
  loadgenLimited: boolean;
  /** Busy CPU of the whole machine minus server and load generator, % of one core: other work that disturbed the step. */
  otherSteadyPct: number | null;
  errors: string[];
  serverProblems: string[];
  /** recbot's own pipeline counters (RTP packets, lost, late, frames dropped, keyframe requests) per kind. */
  serverTrackStats: Record<string, Record<string, number>>;
  /** recbot's sessions by close reason (from its "closing session" log lines). */
  serverCloseReasons: Record<string, number>;
}

/** Shortest steady window whose CPU figures are reported. */
const MIN_STEADY_MS = 2000;

/** A publisher later than this behind its schedule bursts beyond what a real one would (and beyond recbot's 400 ms video jitter window). */
export const LATE_LIMIT_MS = 100;

/** Messages from the demuxer rather than a decoder. */
const CONTAINER = /\[(matroska|webm|matroska,webm) @/;

function errorsWhere(files: FileAnalysis[], match: (line: string) => boolean): { files: number; sample: string[] } {
  const hits = files.map((f) => ({ f, lines: f.decodeErrors.filter(match) })).filter((x) => x.lines.length);
  return { files: hits.length, sample: hits.flatMap(({ f, lines }) => lines.slice(0, 2).map((e) => `${path.basename(f.file)}: ${e}`)).slice(0, 4) };
}

export class Loadgen {
  readonly child: ChildProcess;
  readonly sending: Promise<void>;
  readonly sent: Promise<void>;
  readonly done: Promise<LoadgenDone>;
  constructor() {
    this.child = fork(path.join(here, "loadgen.ts"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const wait = <T>(type: string) =>
      new Promise<T>((resolve, reject) => {
        this.child.on("message", (m: any) => m?.type === type && resolve(m));
        this.child.once("exit", (code) => reject(new Error(`load generator exited (${code}) before "${type}"`)));
      });
    this.sending = wait("sending");
    this.sent = wait("sent");
    this.done = wait("done");
    // Unused rejections (the exit after "done") must not crash the bench.
    this.sending.catch(() => {});
    this.sent.catch(() => {});
  }
}

const sumCpu = (xs: TreeCpu[]) => xs.reduce((a, c) => ({ rootMs: a.rootMs + c.rootMs, treeMs: a.treeMs + c.treeMs, at: c.at }), { rootMs: 0, treeMs: 0, at: 0 });

export async function runStep(input: StepInput): Promise<StepResult> {
  const { server: kind, n, seconds } = input;
  const dir = mkdtempSync(path.join(tmpdir(), `recbot-bench-${kind}-`));
  const server = new ServerProcess({ kind, recordingsDir: dir, workers: input.workers, nodeArgs: input.serverNodeArgs, tree: kind === "recbot" ? input.serverTree : undefined });
  const loadgens: Loadgen[] = [];
  try {
    const url = await server.url;
    await new Promise((r) => setTimeout(r, 500));
    const idle = memory(server.pid);

    const procs = Math.min(input.loadgenProcs, n);
    for (let i = 0; i < procs; i++) loadgens.push(new Loadgen());
    const lgCpu = () => sumCpu(loadgens.map((l) => treeCpu(l.child.pid!)));
    const t0 = treeCpu(server.pid);
    const l0 = lgCpu();
    server.resetLag();
    loadgens.forEach((l, i) => {
      const count = Math.floor(n / procs) + (i < n % procs ? 1 : 0);
      const cmd: RunCommand = { type: "run", url, count, seconds, clip: input.clip.files, rampMs: input.rampMs, recordingsDir: dir, publisher: input.publisher };
      l.child.send(cmd);
    });

    // Steady state: from the moment every publisher sends until the first one has sent everything.
    await Promise.all(loadgens.map((l) => l.sending));
    if (input.cpuProfFile) await server.startProfile();
    const s0 = treeCpu(server.pid);
    const th0 = threadCpu(server.pid);
    const ls0 = lgCpu();
    const m0 = machineCpu();
    let peakRss = idle.rootRssBytes;
    let peakPss = idle.rootPssBytes;
    let ffmpegCount = 0;
    let ffmpegRss = NaN;
    let ffmpegPss = NaN;
    const sample = () => {
      const m = memory(server.pid);
      peakRss = Math.max(peakRss, m.rootRssBytes);
      if (Number.isFinite(m.rootPssBytes)) peakPss = Math.max(peakPss, m.rootPssBytes);
      // An ffmpeg that has exited but is not reaped yet (a finished segment) has no memory: not a live session.
      const live = m.ffmpeg.filter((f) => f.rssBytes > 0 && Number.isFinite(f.pssBytes));
      if (live.length > 0 && live.length >= ffmpegCount) {
        ffmpegCount = live.length;
        const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
        ffmpegRss = mean(live.map((f) => f.rssBytes));
        ffmpegPss = mean(live.map((f) => f.pssBytes));
      }
    };
    sample();
    const sampler = setInterval(sample, 1000);
    await Promise.race(loadgens.map((l) => l.sent));
    clearInterval(sampler);
    sample();
    const s1 = treeCpu(server.pid);
    const th1 = threadCpu(server.pid);
    const ls1 = lgCpu();
    const m1 = machineCpu();
    if (input.cpuProfFile) await server.stopProfile(input.cpuProfFile);

    const done = await Promise.all(loadgens.map((l) => l.done));
    const t1 = treeCpu(server.pid);
    const l1 = lgCpu();
    const lag: Lag = await server.readLag();
    await server.stop();

    const publishers: PublisherResult[] = done.flatMap((d) => d.publishers);
    const ok = publishers.filter((p) => p.ok && p.file);
    const files: FileAnalysis[] = [];
    for (let i = 0; i < ok.length; i += 2) {
      // Two decodes at a time: the machine has two cores and the next step waits anyway.
      files.push(...(await Promise.all(ok.slice(i, i + 2).map((p) => analyzeFile(path.resolve(dir, p.file!), input.clip, input.clipIndex)))));
    }

    const steadyMs = s1.at - s0.at;
    // A publisher that never connects is counted as "sending" only when it gives up, which can leave
    // almost no window: below MIN_STEADY_MS the steady figures would be noise, so they are left out.
    const steady = (x: number) => (steadyMs >= MIN_STEADY_MS ? x : NaN);
    const streamSeconds = ok.reduce((a, p) => a + (p.secondsSent ?? 0), 0);
    const steadyStreamSeconds = (steadyMs / 1000) * n;
    const frames = { video: { sent: 0, recorded: 0, lost: 0 }, audio: { sent: 0, recorded: 0, lost: 0 } };
    let filesWithLoss = 0;
    ok.forEach((p, i) => {
      const f = files[i];
      let lossy = false;
      for (const kind of ["video", "audio"] as const) {
        const sent = p.framesSent![kind];
        frames[kind].sent += sent;
        frames[kind].recorded += f.frames[kind];
        frames[kind].lost += Math.max(0, sent - f.frames[kind]);
        if (f.frames[kind] < sent) lossy = true;
      }
      if (lossy) filesWithLoss++;
    });
    // Publishers that failed count as entirely lost for what they sent.
    for (const p of publishers.filter((x) => !(x.ok && x.file))) {
      for (const kind of ["video", "audio"] as const) {
        frames[kind].sent += p.framesSent?.[kind] ?? 0;
        frames[kind].lost += p.framesSent?.[kind] ?? 0;
      }
    }
    // recbot fills audio gaps (lost packets, DTX) with silent Opus frames, which ffprobe counts as frames: they are
    // lost audio all the same (the bench's clip has no DTX), so they move from "recorded" to "lost".
    const silenceFilled = server.trackStats.audio?.silenceFilled ?? 0;
    frames.audio.recorded -= silenceFilled;
    frames.audio.lost += silenceFilled;
    const totalSent = frames.video.sent + frames.audio.sent;
    const totalLost = frames.video.lost + frames.audio.lost;
    const serverSteadyMs = s1.treeMs - s0.treeMs;
    const lgSteadyMs = ls1.treeMs - ls0.treeMs;
    const machineSteadyMs = m1.busyMs - m0.busyMs;
    const av = files.filter((f) => Number.isFinite(f.avOffsetMs)).map((f) => ({ ...f, avOffsetMs: f.avOffsetMs - input.avZeroMs }));
    const lat = (pick: (p: PublisherResult) => number | undefined) => {
      const { p50, p95 } = p50p95(publishers.map((p) => pick(p) ?? NaN));
      return { p50: round(p50, 0), p95: round(p95, 0) };
    };
    const result: StepResult = {
      server: kind, n, workers: kind === "recbot" ? input.workers : 1, rampMs: input.rampMs, secondsPerPublisher: seconds,
      publishersOk: ok.length,
      streamSeconds: round(streamSeconds)!,
      cpu: {
        steadyTreePct: round(steady((100 * serverSteadyMs) / steadyMs)),
        steadyNodePct: round(steady((100 * (s1.rootMs - s0.rootMs)) / steadyMs)),
        steadyThreads: steadyMs >= MIN_STEADY_MS ? threadPcts(th0, th1, steadyMs) : [],
        steadyTreeMsPerStreamSecond: round(steady(serverSteadyMs / steadyStreamSeconds), 2),
        totalTreeMsPerStreamSecond: round((t1.treeMs - t0.treeMs) / streamSeconds, 2),
        totalTreeMs: round(t1.treeMs - t0.treeMs, 0),
        steadyWindowMs: round(steadyMs, 0),
      },
      memory: {
        nodeIdleRssMB: round(idle.rootRssBytes / MB),
        nodeMaxRssMB: round(peakRss / MB),
        nodeRssPerSessionMB: round((peakRss - idle.rootRssBytes) / MB / n, 2),
        ffmpegProcesses: ffmpegCount,
        ffmpegRssPerSessionMB: round(ffmpegRss / MB, 2),
        ffmpegPssPerSessionMB: round(ffmpegPss / MB, 2),
        nodeMaxPssMB: round(peakPss / MB),
        nodePssPerSessionMB: round((peakPss - idle.rootPssBytes) / MB / n, 2),
        pssPerSessionMB: round((peakPss - idle.rootPssBytes) / MB / n + (kind === "recbot" ? ffmpegPss / MB : 0), 2),
      },
      frames: { ...frames, lostFraction: round(totalSent ? totalLost / totalSent : NaN, 4), filesWithLoss, files: files.length },
      decodeErrors: errorsWhere(files, (line) => !CONTAINER.test(line)),
      containerErrors: errorsWhere(files, (line) => CONTAINER.test(line)),
      latencyMs: {
        offerToAnswer: lat((p) => p.offerToAnswerMs),
        offerToKeyframeOnDisk: lat((p) => p.offerToKeyframeOnDiskMs),
        byeToFinalized: lat((p) => p.byeToFinishedMs),
      },
      eventLoopLagMs: { p99: round(lag.p99Ms), max: round(lag.maxMs) },
      av: {
        maxAbsOffsetMs: round(av.length ? Math.max(...av.map((f) => Math.abs(f.avOffsetMs))) : NaN),
        maxTimingSpreadMs: round(av.length ? Math.max(...av.map((f) => f.timingSpreadMs)) : NaN),
        filesMeasured: av.length,
      },
      intervals: intervalSummary(files),
      loadgen: {
        publisher: input.publisher,
        steadyPct: round(steady((100 * lgSteadyMs) / steadyMs)),
        steadyPctPerPublisher: round(steady((100 * lgSteadyMs) / steadyMs / n), 2),
        connectRetries: publishers.reduce((a, p) => a + Math.max(0, (p.connectAttempts ?? 1) - 1), 0),
        totalMs: round(l1.treeMs - l0.treeMs, 0),
        lagP99Ms: round(Math.max(...done.map((d) => d.lag.p99Ms))),
        maxLateMs: round(Math.max(0, ...publishers.map((p) => p.framesSent?.maxLateMs ?? 0))),
        keyframesOnRequest: publishers.reduce((a, p) => a + (p.framesSent?.keyframesOnRequest ?? 0), 0),
      },
      loadgenLimited: publishers.some((p) => (p.framesSent?.maxLateMs ?? 0) > LATE_LIMIT_MS),
      otherSteadyPct: round(steady((100 * (machineSteadyMs - serverSteadyMs - lgSteadyMs)) / steadyMs)),
      errors: [...new Set(publishers.filter((p) => !p.ok).map((p) => p.error ?? "failed"))].slice(0, 5),
      serverProblems: [...new Set(server.problems)].slice(0, 5),
      serverTrackStats: server.trackStats,
      serverCloseReasons: server.closeReasons,
    };
    return result;
  } finally {
    for (const l of loadgens) if (l.child.exitCode === null) l.child.kill();
    await server.stop().catch(() => {});
    if (input.keep) console.log(`recordings kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function intervalSummary(files: FileAnalysis[]): StepResult["intervals"] {
  const worst = (xs: number[]) => (xs.length ? round(Math.max(...xs), 2) : null);
  const per = (kind: "video" | "audio") => ({
    off: files.reduce((a, f) => a + f.intervals[kind].off, 0),
    worstMs: worst(files.map((f) => f.intervals[kind].worstMs)),
  });
  const video = per("video");
  const audio = per("audio");
  return {
    compared: files.reduce((a, f) => a + f.intervals.video.compared + f.intervals.audio.compared, 0),
    off: video.off + audio.off,
    filesWithOff: files.filter((f) => f.intervals.video.off + f.intervals.audio.off > 0).length,
    worstMs: worst(files.flatMap((f) => [f.intervals.video.worstMs, f.intervals.audio.worstMs])),
    video,
    audio,
  };
}
