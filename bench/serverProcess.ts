import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { appendFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export type ServerKind = "recbot" | "baseline";

export interface ServerOptions {
  kind: ServerKind;
  recordingsDir: string;
  /** recbot's workers option. */
  workers?: number;
  /** A recbot checkout to run the server from (default: this one), e.g. an older version for a paired comparison. */
  tree?: string;
  /** Extra Node/V8 flags for the server process (e.g. GC flags under comparison). */
  nodeArgs?: string[];
  /**
   * recbot's session limit. A publisher that retries (libjuice's missing nomination, docs/bench.md) offers again
   * while its first session is still finalizing, so at N = maxSessions the retry was refused; the bench measures
   * recording, not the limit, so it leaves room (default 1000).
   */
  maxSessions?: number;
}

export interface Lag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The server under test as its own process: recbot's CLI, or the werift MediaRecorder baseline. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly url: Promise<string>;
  /** Log lines at warn level or above (pino level ≥ 40), for the report. */
  readonly problems: string[] = [];
  /** recbot's per-track pipeline counters from its "closing session" log lines, summed per kind. */
  readonly trackStats: Record<string, Record<string, number>> = {};
  /** How many sessions recbot closed for each reason (bye, ice_failed, connect_timeout, …). */
  readonly closeReasons: Record<string, number> = {};

  constructor({ kind, recordingsDir, workers = 1, tree = root, nodeArgs: extraArgs = [], maxSessions = 1000 }: ServerOptions) {
    const nodeArgs = [...extraArgs, "--import", path.join(root, "bench/lagProbe.ts")];
    const entry = kind === "recbot" ? ["src/cli/main.ts", "serve"] : ["bench/baseline/server.ts"];
    const env = kind === "recbot"
      ? { RECBOT_HOST: "127.0.0.1", RECBOT_PORT: "0", RECBOT_RECORDINGS_DIR: recordingsDir, RECBOT_ICE_ADDRESSES: "127.0.0.1", RECBOT_LOG_LEVEL: "info", RECBOT_WORKERS: String(workers), RECBOT_MAX_SESSIONS: String(maxSessions) }
      : { BASELINE_DIR: recordingsDir, BASELINE_PORT: "0" };
    this.child = spawn(process.execPath, [...nodeArgs, ...entry], {
      cwd: tree,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const lines = createInterface({ input: this.child.stdout! });
    this.url = new Promise((resolve, reject) => {
      lines.on("line", (line) => {
        let m: any;
        try {
          m = JSON.parse(line);
        } catch {
          // Not a log line (e.g. --trace-gc output from --server-node-args): kept where asked.
          if (process.env.RECBOT_BENCH_SERVER_RAW_LOG) appendFileSync(process.env.RECBOT_BENCH_SERVER_RAW_LOG, line + "\n");
          return;
        }
        if (typeof m.url === "string" && /listening/.test(m.msg)) resolve(m.url.replace(/^http/, "ws") + "/ws");
        if (m.msg === "closing session") {
          this.closeReasons[m.reason] = (this.closeReasons[m.reason] ?? 0) + 1;
          for (const t of m.tracks ?? []) {
            const sum = (this.trackStats[t.kind] ??= {});
            for (const [k, v] of Object.entries(t)) if (typeof v === "number") sum[k] = (sum[k] ?? 0) + v;
          }
        }
        if (typeof m.level === "number" && m.level >= 40) this.problems.push(`${m.msg}${m.err ? `: ${m.err.message}` : ""}`);
      });
      this.child.once("exit", (code) => reject(new Error(`${kind} exited (${code}) before listening`)));
    });
    this.child.stderr!.on("data", (d: Buffer) => this.problems.push(d.toString().trim().slice(0, 300)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  resetLag(): void {
    this.child.send({ type: "lag:reset" });
  }

  async readLag(): Promise<Lag> {
    return this.ask({ type: "lag:read" }, "lag");
  }

  /** Starts the V8 CPU profiler inside the server. */
  async startProfile(): Promise<void> {
    await this.ask({ type: "prof:start" }, "prof:started");
  }

  /** Stops it and writes the .cpuprofile to `file`. */
  async stopProfile(file: string): Promise<void> {
    await this.ask({ type: "prof:stop", file }, "prof:stopped");
  }

  private ask<T>(message: object, replyType: string): Promise<T> {
    const reply = new Promise<T>((resolve) => {
      const on = (m: any) => {
        if (m?.type === replyType) {
          this.child.off("message", on);
          resolve(m);
        }
      };
      this.child.on("message", on);
    });
    this.child.send(message);
    return reply;
  }

  /** SIGTERM (recbot finalizes its recordings), then waits for the exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, "exit");
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
  }
}
