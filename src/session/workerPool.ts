import { Worker } from "node:worker_threads";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { Config } from "../config/schema.ts";
import type { RecordingStore } from "../recordings/store.ts";
import { errorMessage } from "../util/errors.ts";
import { RemoteSession, type WorkerLink } from "./remoteSession.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./workerProtocol.ts";

/** Splits [min, max] into `n` consecutive slices, so workers never compete for the same UDP ports. */
export function portSlices(range: readonly [number, number], n: number): [number, number][] {
  const [min, max] = range;
  const size = Math.floor((max - min + 1) / n);
  if (size < 1) throw new RangeError(`udpPortRange ${min}-${max} has fewer ports than workers (${n})`);
  return Array.from({ length: n }, (_, i) => [min + i * size, i === n - 1 ? max : min + (i + 1) * size - 1]);
}

class SessionWorker implements WorkerLink {
  readonly index: number;
  readonly sessions = new Map<string, RemoteSession>();
  /** Sessions ever placed here (for /metrics). */
  started = 0;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private nextReq = 1;
  private exited = false;
  private readonly log: Logger;
  private readonly store: RecordingStore;
  /** Resolves when the worker has loaded its modules and listens for messages. */
  readonly ready: Promise<void>;
  private onReady!: () => void;

  constructor(index: number, config: Config, store: RecordingStore, log: Logger) {
    this.index = index;
    this.log = log.child({ worker: index });
    this.store = store;
    this.ready = new Promise((resolve) => (this.onReady = resolve));
    const workerData: WorkerInit = { index, config: structuredClone(config) };
    this.worker = new Worker(new URL("./sessionWorker.ts", import.meta.url), { workerData, name: `recbot-sessions-${index}` });
    this.worker.on("message", (m: FromWorker) => this.onMessage(m));
    this.worker.on("error", (err) => this.log.error({ err }, "session worker failed"));
    this.worker.on("exit", (code) => this.onExit(code));
  }

  send(message: ToWorker): void {
    if (!this.exited) this.worker.postMessage(message);
  }

  request(build: (req: number) => ToWorker): Promise<unknown> {
    if (this.exited) return Promise.reject({ name: "RecbotError", code: "worker_failed", message: "the session worker has stopped" });
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject });
      this.worker.postMessage(build(req));
    });
  }

  create(id: string, log: Logger): RemoteSession {
    const session = new RemoteSession(id, this, log);
    this.sessions.set(id, session);
    this.started++;
    session.once("closed", () => this.sessions.delete(id));
    return session;
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case "ready":
        return this.onReady();
      case "reply": {
        const waiter = this.pending.get(m.req);
        this.pending.delete(m.req);
        if (m.error) waiter?.reject(m.error);
        else waiter?.resolve(m.value);
        return;
      }
      case "state":
      case "event":
        return this.sessions.get(m.id)?.receive(m);
      case "writeMeta": {
        const req = m.req;
        this.store.writeMetadata(m.meta).then(
          () => this.send({ t: "metaWritten", req }),
          (err) => this.send({ t: "metaWritten", req, error: errorMessage(err) }),
        );
        return;
      }
    }
  }

  private onExit(code: number): void {
    this.exited = true;
    this.onReady(); // nothing to wait for any more (sessions placed here end with worker_failed)
    for (const waiter of this.pending.values()) waiter.reject({ name: "RecbotError", code: "worker_failed", message: `the session worker exited (${code})` });
    this.pending.clear();
    for (const s of [...this.sessions.values()]) s.end("worker_failed");
  }

  async terminate(): Promise<void> {
    this.exited = true;
    await this.worker.terminate();
  }
}

/**
 * config `workers` > 1: PeerSessions run in that many worker threads (each with its own slice of
 * udpPortRange); a new session goes to the worker with the fewest live sessions.
 */
export class WorkerPool {
  private readonly workers: SessionWorker[];

  constructor(config: Config, store: RecordingStore, log: Logger) {
    const slices = config.udpPortRange ? portSlices(config.udpPortRange, config.workers) : undefined;
    this.workers = Array.from({ length: config.workers }, (_, i) =>
      new SessionWorker(i, slices ? { ...config, udpPortRange: slices[i] } : config, store, log));
  }

  create(id: string, log: Logger): RemoteSession {
    // Least loaded; ties go to the worker that has had fewer sessions, so a quiet server alternates.
    const worker = this.workers.reduce((a, b) =>
      b.sessions.size < a.sessions.size || (b.sessions.size === a.sessions.size && b.started < a.started) ? b : a);
    return worker.create(id, log);
  }

  /** Resolves when every worker can take sessions at once (loading werift in a thread takes a moment). */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.ready));
  }

  /** Sessions ever placed on each worker, by index. */
  get sessionsStarted(): number[] {
    return this.workers.map((w) => w.started);
  }

  /** Call after every session has closed: stops the threads. */
  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
