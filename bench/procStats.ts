import { readFileSync, readdirSync } from "node:fs";

/** Linux /proc readers for the benchmark: CPU time and memory of a process and its descendants. */

const CLK_TCK = 100; // USER_HZ: 100 on every Linux the bench targets (getconf CLK_TCK)
const PAGE = 4096;

interface Stat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime of the process itself (ms). */
  selfMs: number;
  /** cutime + cstime: children that exited and were waited for (ms). */
  reapedMs: number;
  rssBytes: number;
}

/** `file` defaults to the process's own stat; a thread's is /proc/<pid>/task/<tid>/stat (/proc/<tid>/stat sums the whole process). */
function readStat(pid: number, file = `/proc/${pid}/stat`): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined; // exited meanwhile
  }
  // comm may contain spaces and parentheses: split after the last ")".
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const f = text.slice(close + 2).split(" "); // f[0] is field 3 (state)
  const tick = 1000 / CLK_TCK;
  return {
    pid, comm,
    ppid: Number(f[1]),
    selfMs: (Number(f[11]) + Number(f[12])) * tick,
    reapedMs: (Number(f[13]) + Number(f[14])) * tick,
    rssBytes: Number(f[21]) * PAGE,
  };
}

/** Every live descendant of `root` (not including it). */
export function descendants(root: number): Stat[] {
  const all: Stat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.push(s);
  }
  const children = new Map<number, Stat[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const out: Stat[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.pop()!) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

export interface TreeCpu {
  /** CPU ms of the root process itself (all its threads). */
  rootMs: number;
  /** CPU ms of the whole tree: root, live descendants, and descendants that already exited and were reaped. */
  treeMs: number;
  at: number;
}

/**
 * CPU used so far by a process tree. Children that exited are counted through the parent's
 * cutime/cstime (the kernel adds them when the parent waits), so a finalized ffmpeg is not lost.
 */
export function treeCpu(root: number): TreeCpu {
  const r = readStat(root);
  if (!r) throw new Error(`process ${root} is gone`);
  let treeMs = r.selfMs + r.reapedMs;
  for (const d of descendants(root)) treeMs += d.selfMs + d.reapedMs;
  return { rootMs: r.selfMs, treeMs, at: performance.now() };
}

/** Proportional set size (shared pages split among their users): what a process really adds. */
export function pssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export interface MemorySample {
  rootRssBytes: number;
  rootPssBytes: number;
  /** One entry per live ffmpeg descendant. */
  ffmpeg: { rssBytes: number; pssBytes: number }[];
}

export function memory(root: number): MemorySample {
  const r = readStat(root);
  return {
    rootRssBytes: r?.rssBytes ?? NaN,
    rootPssBytes: pssBytes(root),
    ffmpeg: descendants(root).filter((d) => d.comm === "ffmpeg").map((d) => ({ rssBytes: d.rssBytes, pssBytes: pssBytes(d.pid) })),
  };
}

/** Busy and total jiffies of the whole machine (/proc/stat), to tell how much else was running. */
export function machineCpu(): { busyMs: number; totalMs: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]; // "cpu  user nice system idle iowait irq softirq steal ..."
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3] + v[4];
  const tick = 1000 / CLK_TCK;
  return { busyMs: (total - idle) * tick, totalMs: total * tick };
}

/** CPU ms so far of each thread of a process, by thread id, with the thread's name (comm). */
export function threadCpu(pid: number): Map<number, { name: string; ms: number }> {
  const out = new Map<number, { name: string; ms: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const s = readStat(Number(tid), `/proc/${pid}/task/${tid}/stat`);
    if (s) out.set(s.pid, { name: s.comm, ms: s.selfMs });
  }
  return out;
}

/** Each thread's share of one core between two threadCpu readings, busiest first (threads under 1 % left out). */
export function threadPcts(before: ReturnType<typeof threadCpu>, after: ReturnType<typeof threadCpu>, windowMs: number): { name: string; pct: number }[] {
  const out: { name: string; pct: number }[] = [];
  for (const [tid, a] of after) {
    const pct = (100 * (a.ms - (before.get(tid)?.ms ?? 0))) / windowMs;
    if (pct >= 1) out.push({ name: a.name, pct: Math.round(pct * 10) / 10 });
  }
  return out.sort((x, y) => y.pct - x.pct);
}
