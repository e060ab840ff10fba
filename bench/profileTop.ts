/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per origin.
 *   node bench/profileTop.ts FILE.cpuprofile [count]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  where: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  /** Sampled time, idle included. */
  totalMs: number;
  /** Sampled time minus (idle): percentages are of this. */
  busyMs: number;
  top: ProfileEntry[];
  /** Self time grouped by where the code lives: recbot's src/, each npm package, node internals, (idle), (gc)... */
  byOrigin: { origin: string; selfMs: number; percent: number }[];
}

/** Who a profiled function belongs to: a package, Node, recbot's src, the bench, or a native/VM entry. */
export function origin(url: string, name: string): string {
  if (!url) return name.startsWith("(") ? name : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith("node:")) return "node internals";
  if (/\/src\//.test(url)) return "recbot src";
  if (/\/bench\//.test(url)) return "bench";
  return url;
}

export function summarize(profile: Profile, count = 10): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const short = (url: string, line: number) => `${url.replace(/^file:\/\/.*?\/(node_modules|src|bench|test)\//, "$1/")}:${line + 1}`;
  /** Native functions have no source: name them by the nearest caller outside Node's internals instead. */
  const callerOf = (id: number): string => {
    let internal = "";
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const f = byId.get(p)!.callFrame;
      const at = `← ${f.functionName || "(anonymous)"} ${short(f.url, f.lineNumber)}`;
      if (f.url && !f.url.startsWith("node:")) return at;
      if (f.url && !internal) internal = at;
    }
    return internal;
  };
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const fns = new Map<string, ProfileEntry>();
  const origins = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    // The profiler's own start/stop calls (bench/lagProbe.ts) are not the server's work.
    if (url === "node:inspector" || url === "node:inspector/promises") continue;
    const name = functionName || "(anonymous)";
    const where = url ? short(url, lineNumber) : name.startsWith("(") ? "" : callerOf(id);
    const key = `${name}@${where}`;
    const e = fns.get(key) ?? { name, where, selfMs: 0, percent: 0 };
    e.selfMs += micros / 1000;
    fns.set(key, e);
    const o = origin(url, name);
    origins.set(o, (origins.get(o) ?? 0) + micros / 1000);
    total += micros / 1000;
  }
  const busy = total - (origins.get("(idle)") ?? 0);
  origins.delete("(idle)");
  for (const k of [...fns.keys()]) if (k.startsWith("(idle)@")) fns.delete(k);
  const pct = (ms: number) => Math.round((1000 * ms) / busy) / 10;
  const top = [...fns.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, count).map((e) => ({ ...e, selfMs: Math.round(e.selfMs), percent: pct(e.selfMs) }));
  const byOrigin = [...origins].sort((a, b) => b[1] - a[1]).map(([o, ms]) => ({ origin: o, selfMs: Math.round(ms), percent: pct(ms) }));
  return { totalMs: Math.round(total), busyMs: Math.round(busy), top, byOrigin };
}

export function profileTable(s: ProfileSummary): string {
  const rows = s.top.map((e, i) => `| ${i + 1} | \`${e.name}\` | ${e.where} | ${e.selfMs} | ${e.percent} % |`);
  const origins = s.byOrigin.slice(0, 8).map((o) => `${o.origin} ${o.percent} %`).join(", ");
  return [`| # | function | where | self ms | self % |`, `| - | - | - | - | - |`, ...rows, "", `By origin: ${origins} (% of ${s.busyMs} ms busy, ${s.totalMs} ms sampled)`].join("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, count] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node bench/profileTop.ts FILE.cpuprofile [count]");
    process.exit(2);
  }
  console.log(profileTable(summarize(JSON.parse(readFileSync(file, "utf8")), Number(count ?? 10))));
}
