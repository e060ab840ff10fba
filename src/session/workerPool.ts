import { Worker } from "node:worker_threads";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { Config } from "../config/schema.ts";
import type { RecordingStore } from "../recordings/store.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import { errorMessage, type WireError } from "../util/errors.ts";
import type { MediaBudget } from "./mediaBudget.ts";
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
  /** Stopped by the pool (server close), not died. */
  private terminating = false;
  /** Called when the thread dies on its own (the pool replaces it). */
  onDied: ((worker: SessionWorker) => void) | undefined;
  private readonly log: Logger;
  private readonly store: RecordingStore;
  /** Resolves when the worker has loaded its modules and listens for messages. */
  readonly ready: Promise<void>;
  private onReady!: () => void;

  constructor(index: number, config: Config, store: RecordingStore, log: Logger, mediaBudget: SharedArrayBuffer) {
    this.index = index;
    this.log = log.child({ worker: index });
    this.store = store;
    this.ready = new Promise((resolve) => (this.onReady = resolve));
    const workerData: WorkerInit = { index, config: structuredClone(config), mediaBudget };
    this.worker = new Worker(new URL("./sessionWorker.ts", import.meta.url), { workerData, name: `recbot-sessions-${index}` });
    this.worker.on("message", (m: FromWorker) => this.onMessage(m));
    this.worker.on("error", (err) => this.log.error({ err }, "session worker failed"));
    this.worker.on("exit", (code) => this.onExit(code));
  }

  send(message: ToWorker): void {
    if (!this.exited) this.worker.postMessage(message);
  }

  request(build: (req: number) => ToWorker): Promise<unknown> {
    if (this.exited) return Promise.reject({ code: "worker_failed", message: "the session worker has stopped" } satisfies WireError);
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
    const error: WireError = { code: "worker_failed", message: `the session worker exited (${code})` };
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    if (this.terminating) return;
    this.log.error({ exitCode: code, sessions: this.sessions.size }, "session worker died; its sessions end and a new worker takes its place");
    for (const s of [...this.sessions.values()]) void this.interrupt(s, error.message);
    this.onDied?.(this);
  }

  /**
   * A session whose thread died mid-call: its ffmpeg processes lose their input and finalize what they got
   * (Matroska stays playable up to the last cluster); the sidecars say "interrupted", the clients get the
   * "failed" recording event, then the session ends with worker_failed.
   */
  private async interrupt(session: RemoteSession, why: string): Promise<void> {
    for (const meta of session.recordings) {
      if (meta.state !== "recording" || !meta.segments?.length) continue; // never started: no file
      // The recorder lists a segment when it starts its ffmpeg, and ffmpeg creates the file only after probing its
      // input: a thread that dies in between (e.g. just as the sync hold released the first frames) leaves a listed
      // segment that is not on disk. The sidecar names only files that exist.
      const segments = [];
      let sizeBytes = 0;
      for (const s of meta.segments) {
        const size = await this.store.sizeOf(s.file);
        if (size === undefined) continue;
        segments.push(s);
        sizeBytes += size;
      }
      const endedAt = new Date().toISOString();
      if (segments.length === 0) {
        // Nothing of it is on disk: no recording to list (as when the stream never started), only the client is told.
        await this.store.delete(meta.id).catch((err) => this.log.warn({ err }, "sidecar removal failed"));
        this.log.warn({ recordingId: meta.id }, "interrupted recording had no file yet; its sidecar is removed");
        const failed: RecordingMetadata = { ...meta, segments: [], state: "failed", endedAt, error: `${why}; no file was written` };
        session.receive({
          t: "event", id: session.id, event: "recording",
          args: [{ recordingId: meta.id, state: "failed", file: meta.file, streamId: meta.streamId, error: failed.error }, failed],
        });
        continue;
      }
      const interrupted: RecordingMetadata = { ...meta, file: segments[0].file, segments, sizeBytes, state: "interrupted", endedAt, error: why };
      await this.store.writeMetadata(interrupted).catch((err) => this.log.warn({ err }, "metadata write failed"));
      session.receive({
        t: "event", id: session.id, event: "recording",
        args: [{ recordingId: meta.id, state: "failed", file: interrupted.file, streamId: meta.streamId, error: why }, interrupted],
      });
    }
    session.end("worker_failed");
  }

  async terminate(): Promise<void> {
    this.terminating = true;
    await this.worker.terminate();
  }
}

/**
 * config `workers` > 1: PeerSessions run in that many worker threads (each with its own slice of
 * udpPortRange); a new session goes to the worker with the fewest live sessions.
 */
export class WorkerPool {
  private readonly workers: SessionWorker[];
  private readonly configs: Config[];
  private readonly store: RecordingStore;
  private readonly log: Logger;
  private readonly budget: MediaBudget;

  constructor(config: Config, store: RecordingStore, log: Logger, budget: MediaBudget) {
    this.budget = budget;
    const slices = config.udpPortRange ? portSlices(config.udpPortRange, config.workers) : undefined;
    this.configs = Array.from({ length: config.workers }, (_, i) => (slices ? { ...config, udpPortRange: slices[i] } : config));
    this.store = store;
    this.log = log;
    this.workers = this.configs.map((_, i) => this.spawn(i));
  }

  /** A worker for slot `index`; one that dies is replaced, so new sessions never land on a dead thread. */
  private spawn(index: number, started = 0): SessionWorker {
    const worker = new SessionWorker(index, this.configs[index], this.store, this.log, this.budget.shared);
    worker.started = started;
    worker.onDied = (dead) => {
      this.budget.releaseWorker(index); // its sessions never closed there: their streams are free again
      if (this.workers[index] === dead) this.workers[index] = this.spawn(index, dead.started);
    };
    return worker;
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
