/**
 * Long tasks in a V8 .cpuprofile: stretches of continuous non-idle samples on the main thread longer than a threshold,
 * each with where its time went (self and inclusive, by function), so an event-loop stall can be named.
 *
 *   node bench/longTasks.ts FILE.cpuprofile [--min-ms 50] [--top 6] [--json]
 *
 * A stretch's wall time is the sum of its samples' time deltas; `samples × interval` estimates the CPU it had (the
 * per-function figures are estimated CPU ms too). When
 * the process is starved of CPU (other work on the machine), the sampler is starved too: wall time grows while the
 * sample count does not, so `cpuShare` (estimated CPU / wall) well under 1 points at starvation, not at recbot's code.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface LongTask {
  /** ms from the profile's start. */
  atMs: number;
  wallMs: number;
  samples: number;
  /** Estimated CPU ms: samples × the median sampling interval. */
  cpuMs: number;
  /** Estimated CPU ms in (garbage collector). */
  gcMs: number;
  self: { fn: string; ms: number }[];
  total: { fn: string; ms: number }[];
  /** The deepest frame in recbot's own src/ under each sample, by time: which recbot code the work came through. */
  recbot: { fn: string; ms: number }[];
}

const short = (url: string, line: number) => `${url.replace(/^file:\/\/.*?\/(node_modules|src|bench|test)\//, "$1/").replace(/^node_modules\//, "")}:${line + 1}`;

export function longTasks(profile: Profile, minMs = 50, top = 6): { intervalUs: number; tasks: LongTask[]; busyMs: number; wallMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || "(anonymous)"}${f.url ? ` ${short(f.url, f.lineNumber)}` : ""}`;
  };
  const isIdle = (id: number) => {
    const f = byId.get(id)!.callFrame.functionName;
    return f === "(idle)";
  };
  const stackCache = new Map<number, number[]>();
  const stack = (id: number): number[] => {
    let s = stackCache.get(id);
    if (!s) {
      s = [];
      for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) s.push(p);
      stackCache.set(id, s);
    }
    return s;
  };
  const deltas = [...profile.timeDeltas].filter((d) => d > 0).sort((a, b) => a - b);
  const intervalUs = deltas[Math.floor(deltas.length / 2)] ?? 1000;

  const tasks: LongTask[] = [];
  let busyUs = 0;
  let t = 0;
  let start = -1;
  const flush = (from: number, to: number, at: number) => {
    // Sample i covers the time since sample i-1: its delta is the time it stands for.
    let wall = 0;
    for (let i = from; i < to; i++) wall += profile.timeDeltas[i] ?? 0;
    if (wall / 1000 < minMs) return;
    const self = new Map<string, number>();
    const total = new Map<string, number>();
    const recbot = new Map<string, number>();
    let gc = 0;
    for (let i = from; i < to; i++) {
      const id = profile.samples[i];
      // Weighted by samples, not by time deltas: a sample after a gap (the process was not on a CPU) would
      // otherwise charge the whole gap to whatever function it happened to land in.
      const d = intervalUs / 1000;
      const fnSelf = name(id);
      self.set(fnSelf, (self.get(fnSelf) ?? 0) + d);
      if (byId.get(id)!.callFrame.functionName === "(garbage collector)") gc += d;
      const seen = new Set<string>();
      let deepestSrc: string | undefined;
      for (const s of stack(id)) {
        const n = name(s);
        if (n.startsWith("(root)") || seen.has(n)) continue;
        seen.add(n);
        total.set(n, (total.get(n) ?? 0) + d);
        if (!deepestSrc && /\/src\//.test(byId.get(s)!.callFrame.url) && !/node_modules/.test(byId.get(s)!.callFrame.url)) deepestSrc = n;
      }
      const r = deepestSrc ?? "(no recbot frame)";
      recbot.set(r, (recbot.get(r) ?? 0) + d);
    }
    // The profiler's own start (bench/lagProbe.ts posting Profiler.start) is not recbot's work.
    if ((total.get([...total.keys()].find((k) => k.startsWith("post node:inspector")) ?? "") ?? 0) > wall / 2000) return;
    const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, ms]) => ({ fn, ms: Math.round(ms * 10) / 10 }));
    tasks.push({
      atMs: Math.round(at / 1000), wallMs: Math.round(wall / 100) / 10, samples: to - from, cpuMs: Math.round(((to - from) * intervalUs) / 100) / 10,
      gcMs: Math.round(gc * 10) / 10, self: sorted(self), total: sorted(total), recbot: sorted(recbot),
    });
  };
  let startAt = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const idle = isIdle(profile.samples[i]);
    if (!idle) busyUs += profile.timeDeltas[i] ?? 0;
    if (!idle && start < 0) {
      start = i;
      startAt = t - (profile.timeDeltas[i] ?? 0);
    } else if (idle && start >= 0) {
      flush(start, i, startAt);
      start = -1;
    }
  }
  if (start >= 0) flush(start, profile.samples.length, startAt);
  return { intervalUs, tasks: tasks.sort((a, b) => b.wallMs - a.wallMs), busyMs: Math.round(busyUs / 1000), wallMs: Math.round(t / 1000) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { "min-ms": { type: "string", default: "50" }, top: { type: "string", default: "6" }, json: { type: "boolean", default: false }, count: { type: "string", default: "30" } } });
  if (!positionals[0]) {
    console.error("usage: node bench/longTasks.ts FILE.cpuprofile [--min-ms 50] [--top 6] [--count 30] [--json]");
    process.exit(2);
  }
  const r = longTasks(JSON.parse(readFileSync(positionals[0], "utf8")), Number(values["min-ms"]), Number(values.top));
  if (values.json) console.log(JSON.stringify(r, null, 2));
  else {
    console.log(`${r.tasks.length} stretches ≥ ${values["min-ms"]} ms of ${r.wallMs} ms profiled (${r.busyMs} ms busy; sampling every ${r.intervalUs} µs)`);
    for (const task of r.tasks.slice(0, Number(values.count))) {
      const starved = task.cpuMs < task.wallMs / 2 ? " — mostly not on a CPU (starved by other processes)" : "";
      console.log(`\n@${(task.atMs / 1000).toFixed(1)} s: ${task.wallMs} ms wall, ${task.samples} samples (~${task.cpuMs} ms CPU)${starved}, GC ${task.gcMs} ms`);
      console.log(`  recbot: ${task.recbot.map((e) => `${e.fn} ${e.ms}`).join(" | ")}`);
      console.log(`  total:  ${task.total.map((e) => `${e.fn} ${e.ms}`).join(" | ")}`);
      console.log(`  self:   ${task.self.map((e) => `${e.fn} ${e.ms}`).join(" | ")}`);
    }
  }
}
