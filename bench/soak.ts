/**
 * `npm run soak`: recbot as its own process under a bounded mix of the hostile clients of issue 16
 * (bench/soak/hostile.ts) beside legitimate werift publishers, for minutes. Reports whether every legitimate
 * recording is complete and exact (frames in the file = frames sent, no decode errors), whether recbot's memory
 * (heap + Buffers after GC), RSS, fds and ffmpeg children return to the baseline, and /healthz latency (polled
 * every 100 ms from a separate process). Writes the figures to a JSON file (docs/soak.md explains them).
 *
 *   npm run soak -- [--minutes 5] [--publishers 3] [--hostile 2] [--seconds 15] [--workers 1] [--out FILE] [--no-netns]
 *                   [--profile FILE.cpuprofile] [--trace-gc]
 */
import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeClip, type Clip } from "../src/testkit/clip.ts";
import { decodeErrors, probe } from "../src/testkit/probe.ts";
import { publish } from "../src/testkit/publisher.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { connectRaw, rtp } from "../src/testkit/rawPeer.ts";
import { descendants } from "./procStats.ts";
import { hostileClients, type HostileContext, type Outcome } from "./soak/hostile.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    publishers: { type: "string", default: "3" },
    hostile: { type: "string", default: "2" },
    seconds: { type: "string", default: "15" },
    workers: { type: "string", default: "1" },
    out: { type: "string" },
    /** Comma-separated hostile client names to run (default: all of bench/soak/hostile.ts). */
    only: { type: "string" },
    "no-netns": { type: "boolean", default: false },
    /** Write a V8 CPU profile of recbot's main thread over the soak window (200 µs sampling; bench/longTasks.ts reads it). */
    profile: { type: "string" },
    /** Run recbot with --trace-gc and report its longest GC pauses. */
    "trace-gc": { type: "boolean", default: false },
  },
});
const minutes = Number(args.minutes);
const publishers = Number(args.publishers);
const hostileLoops = Number(args.hostile);
const publishSeconds = Number(args.seconds);
const TOKEN = "soak-token-0123456789abcdef";

/** As root on Linux, re-run inside a loopback-only network namespace (nothing may leave the machine). */
function enterNetns(): boolean {
  if (args["no-netns"] || process.env.RECBOT_BENCH_NETNS || process.platform !== "linux" || process.getuid?.() !== 0) return false;
  const r = spawnSync("unshare", ["-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, RECBOT_BENCH_NETNS: "1" },
  });
  process.exitCode = r.status ?? 1;
  return true;
}

/** recbot with the soak's config, plus the probes it answers over IPC (event-loop lag, memory after GC). */
class Server {
  readonly child: ChildProcess;
  readonly base: Promise<string>;
  logLines = 0;
  /** Log lines that contain the access token (item 8: credentials must not be logged). */
  tokenInLogs = 0;
  warnings: Record<string, number> = {};
  closeReasons: Record<string, number> = {};

  /** With --trace-gc: each GC pause recbot's V8 printed, in ms, by kind (Scavenge, Mark-Compact...). */
  gcPauses: { kind: string; ms: number }[] = [];

  constructor(dir: string, workers: number, traceGc = false) {
    this.child = spawn(process.execPath, [...(traceGc ? ["--trace-gc"] : []), "--import", path.join(root, "bench/lagProbe.ts"), "--import", path.join(root, "bench/soak/memProbe.ts"), "src/cli/main.ts", "serve"], {
      cwd: root,
      env: {
        ...process.env, RECBOT_HOST: "127.0.0.1", RECBOT_PORT: "0", RECBOT_RECORDINGS_DIR: dir, RECBOT_ICE_ADDRESSES: "127.0.0.1",
        RECBOT_LOG_LEVEL: "info", RECBOT_AUTH_TOKENS: TOKEN, RECBOT_RATE_LIMIT_PER_MINUTE: "1000000", RECBOT_MAX_SESSIONS: "60", RECBOT_WORKERS: String(workers),
      },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const lines = createInterface({ input: this.child.stdout! });
    this.base = new Promise((resolve, reject) => {
      lines.on("line", (line) => {
        this.logLines++;
        if (line.includes(TOKEN)) this.tokenInLogs++;
        let m: any;
        try {
          m = JSON.parse(line);
        } catch {
          // --trace-gc: "[pid:0x…]    1234 ms: Scavenge 40.1 (42.0) -> 39.0 (43.0) MB, pooled: 0 MB, 1.23 / 0.00 ms ..."
          const gc = /\d+ ms: ((?:Incremental )?[A-Za-z-]+(?: \([a-z ]+\))?)[^,]*MB, (?:[^,]*, )?([\d.]+) \/ [\d.]+ ms/.exec(line);
          // "testing": the soak's own gc() calls (bench/soak/memProbe.ts), counted apart.
          if (gc) this.gcPauses.push({ kind: gc[1] + (/\) testing;/.test(line) ? " (soak's gc())" : ""), ms: Number(gc[2]) });
          return;
        }
        if (typeof m.url === "string" && /listening/.test(m.msg)) resolve(m.url);
        if (m.msg === "closing session") this.closeReasons[m.reason] = (this.closeReasons[m.reason] ?? 0) + 1;
        if (m.level >= 40) this.warnings[m.msg] = (this.warnings[m.msg] ?? 0) + 1;
      });
      this.child.once("exit", (code) => reject(new Error(`recbot exited (${code})`)));
    });
    this.child.stderr!.on("data", (d: Buffer) => process.stderr.write(`[recbot stderr] ${d.toString().slice(0, 300)}`));
  }

  ask<T>(message: object, reply: string): Promise<T> {
    return new Promise((resolve) => {
      const on = (m: any) => {
        if (m?.type !== reply) return;
        this.child.off("message", on);
        resolve(m as T);
      };
      this.child.on("message", on);
      this.child.send(message);
    });
  }
}

interface Snapshot {
  at: string;
  sessions: number;
  /** Heap + Buffers: after full GCs at the baseline and the end; without (garbage included) in the run's samples. */
  heldMb: number;
  rssMb: number;
  fds: number;
  /** Open fds other than TCP connections (the soak's idle keep-alive HTTP connections come and go). */
  fdsNoTcp: number;
  /** Open fds by kind (socket, pipe, anon_inode:[eventfd], file...). */
  fdKinds: Record<string, number>;
  ffmpeg: number;
}

/** Socket inodes of the namespace by protocol and TCP state (/proc/net/*: state 0A = LISTEN, 01 = ESTABLISHED). */
function socketTable(pid: number): Map<string, string> {
  const table = new Map<string, string>();
  for (const proto of ["tcp", "tcp6", "udp", "udp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/net/${proto}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const kind = proto.startsWith("udp") ? "udp" : f[3] === "0A" ? "tcp_listen" : f[3] === "01" ? "tcp_established" : "tcp_other";
      table.set(f[9], kind);
    }
  }
  return table;
}

/**
 * Open fds by kind. TCP connections are mostly idle keep-alive connections of the soak's own HTTP clients (Fastify
 * keeps them 72 s); ICE sockets are UDP, ffmpeg pipes are pipes: those are what a leak would show in.
 */
function fdKinds(pid: number): Record<string, number> {
  const kinds: Record<string, number> = {};
  const sockets = socketTable(pid);
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = "gone";
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {}
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    const kind = target.startsWith("/") ? "file" : inode ? (sockets.get(inode) ?? "socket_other") : target.replace(/:\[?\d+\]?$/, "");
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/** `gc`: force full GCs first (baseline and end, outside the timed window); samples during the run do not (they stall recbot). */
async function snapshot(server: Server, base: string, gc = true): Promise<Snapshot> {
  const mem = await server.ask<{ heapUsed: number; arrayBuffers: number; rss: number }>({ type: "mem", gc }, "mem");
  const pid = server.child.pid!;
  const kinds = fdKinds(pid);
  const health = (await (await fetch(`${base}/healthz`)).json()) as { sessions: number };
  return {
    at: new Date().toISOString(),
    sessions: health.sessions,
    heldMb: +((mem.heapUsed + mem.arrayBuffers) / 1e6).toFixed(1),
    rssMb: +(mem.rss / 1e6).toFixed(1),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    fdKinds: kinds,
    fdsNoTcp: Object.entries(kinds).filter(([k]) => !k.startsWith("tcp_") || k === "tcp_listen").reduce((n, [, v]) => n + v, 0),
    ffmpeg: descendants(pid).filter((d) => d.comm === "ffmpeg").length,
  };
}

/** Until recbot has no session and no ffmpeg child left (WHIP sessions that never connect end at connectTimeoutSeconds). */
async function idle(server: Server, base: string, maxMs = 60_000): Promise<void> {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    const s = (await (await fetch(`${base}/healthz`)).json()) as { sessions: number };
    if (s.sessions === 0 && descendants(server.child.pid!).every((d) => d.comm !== "ffmpeg")) break;
    await sleep(500);
  }
  await sleep(3000);
}

interface LegitResult {
  ok: boolean;
  error?: string;
  refusals: number;
  state?: string;
  videoSent?: number;
  videoInFile?: number;
  audioSent?: number;
  audioInFile?: number;
  decodeErrors?: string;
}

/** One legitimate publish (retrying while recbot is full, as a client honouring Retry-After would), then checks the file. */
async function legitPublish(ws: string, clip: Clip, dir: string): Promise<LegitResult> {
  let refusals = 0;
  for (;;) {
    try {
      const r = await publish({ url: ws, clip, seconds: publishSeconds });
      const meta = r.finished;
      const file = path.join(dir, meta.file); // messages name files relative to the recordings directory
      const p = await probe(file);
      const count = (type: string) => Number(p.streams.find((s) => s.codec_type === type)?.nb_read_frames ?? 0);
      const errors = await decodeErrors(file);
      const result: LegitResult = {
        ok: false, refusals, state: meta.state, videoSent: r.framesSent.video, videoInFile: count("video"),
        audioSent: r.framesSent.audio, audioInFile: count("audio"), decodeErrors: errors.slice(0, 300),
      };
      // Exact: every video frame sent is in the file; audio may carry a silent frame of padding at either end.
      result.ok = meta.state === "finished" && errors === "" && result.videoInFile === result.videoSent &&
        result.audioInFile! >= result.audioSent! && result.audioInFile! <= result.audioSent! + 3;
      return result;
    } catch (err) {
      const message = String((err as Error).message ?? err);
      if (/too_many_sessions|stream_limit_reached/.test(message) && refusals < 20) {
        refusals++;
        await sleep(1000);
        continue;
      }
      return { ok: false, error: message.slice(0, 300), refusals };
    }
  }
}

/** GC pauses by kind: count, total and longest (ms). */
function gcSummary(pauses: { kind: string; ms: number }[]): Record<string, { count: number; totalMs: number; maxMs: number }> {
  const out: Record<string, { count: number; totalMs: number; maxMs: number }> = {};
  for (const p of pauses) {
    const k = (out[p.kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
    k.count++;
    k.totalMs = +(k.totalMs + p.ms).toFixed(1);
    k.maxMs = Math.max(k.maxMs, p.ms);
  }
  return out;
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | { timeout: true }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ timeout: true }>((resolve) => (timer = setTimeout(() => resolve({ timeout: true }), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Item 11: a publisher connected when recbot gets SIGTERM should hear why (error + 4001) and get its recording finished. */
async function sigtermCheck(server: Server, ws: string, clip: Clip): Promise<Outcome> {
  const peer = await connectRaw(ws, [{ kind: "audio", stream: "t" }]);
  let stop = false;
  const sending = (async () => {
    for (let i = 0; !stop; i++) {
      await peer.send(0, rtp({ seq: i, ts: i * 960, marker: i === 0, payload: clip.audio[i % clip.audio.length].data }));
      await sleep(20);
    }
  })().catch(() => {});
  await peer.client.waitFor((m) => m.type === "recording" && m.state === "started", 10_000).catch(() => undefined);
  await sleep(1000);
  const exited = new Promise<number | null>((resolve) => server.child.once("exit", (code) => resolve(code)));
  const t0 = Date.now();
  server.child.kill("SIGTERM");
  const exitCode = await withTimeout(exited, 30_000);
  const stopMs = Date.now() - t0;
  stop = true;
  await sending;
  await Promise.race([peer.client.closed(), sleep(2000)]);
  const messages = peer.client.messages;
  await peer.close();
  return {
    exitCode, stopMs, clientCloseCode: peer.client.closeCode, clientCloseReason: peer.client.closeReason,
    errorCode: messages.find((m) => m.type === "error")?.code ?? null,
    recordingFinished: messages.some((m) => m.type === "recording" && m.state === "finished"),
  };
}

async function main(): Promise<void> {
  if (enterNetns()) return;
  const clip = await makeClip({ seconds: 5 });
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-soak-"));
  const server = new Server(dir, Number(args.workers), args["trace-gc"]);
  const base = await server.base;
  const ws = `${base.replace("http", "ws")}/ws?access_token=${TOKEN}`;
  console.log(`[soak] recbot ${base}, ${minutes} min, ${publishers} publishers, ${hostileLoops} hostile loops, recordings in ${dir}`);

  // Warm up (modules, JIT, first ffmpeg), then take the baseline with nothing running.
  const warmup = await legitPublish(ws, clip, dir);
  if (!warmup.ok) console.log(`[soak] warm-up publish not exact: ${JSON.stringify(warmup)}`);
  await idle(server, base);
  const baseline = await snapshot(server, base);
  console.log(`[soak] baseline ${JSON.stringify(baseline)}`);

  const health = fork(path.join(root, "bench/soak/healthProbe.ts"), [base], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  await new Promise((resolve) => health.once("message", resolve)); // its first, untimed request done
  server.child.send({ type: "lag:reset" });
  if (args.profile) await server.ask({ type: "prof:start", intervalUs: 200 }, "prof:started");
  server.gcPauses = [];
  const deadline = Date.now() + minutes * 60_000;
  const legit: LegitResult[] = [];
  const hostile: { kind: string; ms: number; outcome: Outcome | { timeout: true } | { error: string }; fileErrors?: string[] }[] = [];
  const samples: Snapshot[] = [];
  const sampler = setInterval(() => void snapshot(server, base, false).then((s) => samples.push(s)).catch(() => {}), 15_000);

  const legitLoop = async (i: number) => {
    await sleep(i * 1500);
    while (Date.now() < deadline) {
      const r = await legitPublish(ws, clip, dir);
      legit.push(r);
      console.log(`[soak] legit ${legit.length}: ${r.ok ? "exact" : "NOT EXACT"} video ${r.videoInFile}/${r.videoSent} audio ${r.audioInFile}/${r.audioSent}${r.error ? ` error ${r.error}` : ""}${r.refusals ? ` (${r.refusals} refusals)` : ""}`);
    }
  };
  const kinds = args.only ? args.only.split(",") : Object.keys(hostileClients);
  const ctx: HostileContext = { base, token: TOKEN, clip };
  const hostileLoop = async (j: number) => {
    for (let n = j; Date.now() < deadline; n += hostileLoops) {
      const kind = kinds[n % kinds.length];
      const t0 = performance.now();
      const outcome = await withTimeout(hostileClients[kind](ctx).catch((err) => ({ error: String(err?.message ?? err).slice(0, 200) })), 45_000);
      // Any file a hostile client made must still decode cleanly (garbage never reaches a file).
      const files = ((outcome as Outcome).recordings as { file?: string }[] | undefined)?.map((r) => r.file).filter((f): f is string => !!f).map((f) => path.join(dir, f)) ?? [];
      const fileErrors: string[] = [];
      for (const f of files) fileErrors.push((await decodeErrors(f).catch((e) => String(e))).slice(0, 200));
      hostile.push({ kind, ms: Math.round(performance.now() - t0), outcome, fileErrors });
      console.log(`[soak] hostile ${kind} (${Math.round(performance.now() - t0)} ms): ${JSON.stringify(outcome).slice(0, 200)}${fileErrors.some((e) => e) ? " FILE ERRORS" : ""}`);
      await sleep(1000);
    }
  };
  await Promise.all([...Array.from({ length: publishers }, (_, i) => legitLoop(i)), ...Array.from({ length: hostileLoops }, (_, j) => hostileLoop(j))]);
  clearInterval(sampler);

  const healthFigures = await new Promise<any>((resolve) => {
    health.once("message", resolve);
    health.send({ type: "read" });
  });
  health.disconnect();
  const lag = await server.ask<{ p50Ms: number; p99Ms: number; maxMs: number }>({ type: "lag:read" }, "lag");
  if (args.profile) await server.ask({ type: "prof:stop", file: path.resolve(args.profile) }, "prof:stopped");
  const gc = args["trace-gc"] ? gcSummary(server.gcPauses) : undefined;
  await idle(server, base);
  const end = await snapshot(server, base);
  console.log(`[soak] end ${JSON.stringify(end)}`);
  const sigterm = await sigtermCheck(server, ws, clip);

  const exact = legit.filter((r) => r.ok).length;
  const result = {
    date: new Date().toISOString(),
    options: { minutes, publishers, hostileLoops, publishSeconds, workers: Number(args.workers) },
    legit: { publishes: legit.length, exact, notExact: legit.filter((r) => !r.ok), refusals: legit.reduce((n, r) => n + r.refusals, 0) },
    hostile: {
      runs: hostile.length,
      byKind: Object.fromEntries(kinds.map((k) => [k, hostile.filter((h) => h.kind === k).length])),
      filesWithDecodeErrors: hostile.filter((h) => h.fileErrors?.some((e) => e)).length,
      samples: Object.fromEntries(kinds.map((k) => [k, hostile.find((h) => h.kind === k)?.outcome])),
    },
    health: healthFigures,
    eventLoopLag: lag,
    ...(gc ? { gc } : {}),
    baseline,
    end,
    delta: { heldMb: +(end.heldMb - baseline.heldMb).toFixed(1), rssMb: +(end.rssMb - baseline.rssMb).toFixed(1), fds: end.fds - baseline.fds, fdsNoTcp: end.fdsNoTcp - baseline.fdsNoTcp, ffmpeg: end.ffmpeg },
    samples,
    server: { logLines: server.logLines, tokenInLogs: server.tokenInLogs, warnings: server.warnings, closeReasons: server.closeReasons },
    sigterm,
  };
  const out = args.out ?? path.join(root, "bench/results", `soak-${result.date.replace(/:/g, "-").replace(/\.\d+Z$/, "Z")}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(
    `[soak] legit ${exact}/${legit.length} exact; hostile runs ${hostile.length} (files with decode errors ${result.hostile.filesWithDecodeErrors}); ` +
      `/healthz p50 ${healthFigures.p50Ms?.toFixed(1)} ms, p99 ${healthFigures.p99Ms?.toFixed(1)} ms, worst ${healthFigures.maxMs?.toFixed(1)} ms (${healthFigures.over100} polls > 100 ms of ${healthFigures.polls}); ` +
      `event-loop lag max ${lag.maxMs.toFixed(0)} ms;${gc ? ` GC ${JSON.stringify(gc)};` : ""} held memory ${baseline.heldMb} → ${end.heldMb} MB, RSS ${baseline.rssMb} → ${end.rssMb} MB, fds ${baseline.fds} → ${end.fds} (without TCP connections ${baseline.fdsNoTcp} → ${end.fdsNoTcp}), ffmpeg ${end.ffmpeg}; ` +
      `token in logs ${server.tokenInLogs}; written to ${path.relative(root, out)}`,
  );
  rmSync(dir, { recursive: true, force: true });
}

await main();
// Client peers (werift) and pooled HTTP connections keep timers and sockets alive: the report is written, stop.
process.exit(process.exitCode ?? 0);
