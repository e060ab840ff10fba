import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import { TooManySessionsError } from "../util/errors.ts";
import { MediaBudget, mediaLimitsOf } from "./mediaBudget.ts";
import { PeerSession, type PeerSessionDeps } from "./peerSession.ts";
import { emptyTotals, type CloseReason, type RecordingEvent, type Session, type SessionTotals } from "./session.ts";
import { WorkerPool } from "./workerPool.ts";

export interface SessionRegistryEvents {
  recording: [RecordingEvent, RecordingMetadata];
  closed: [reason: CloseReason];
}

/**
 * All live sessions. A session that closes removes itself and its counters are kept in `retired`,
 * so totals never go backwards. `closeAll` finalizes every session.
 */
export class SessionRegistry extends EventEmitter<SessionRegistryEvents> {
  private readonly sessions = new Map<string, Session>();
  private readonly deps: PeerSessionDeps;
  /** Session worker threads (config `workers` > 1); without them sessions run in this thread. */
  private readonly pool: WorkerPool | undefined;
  /** Tracks and MediaStreams admitted over all sessions, in this thread and the workers (for limits and /metrics). */
  readonly budget: MediaBudget;
  private readonly retired: SessionTotals = emptyTotals();

  constructor(deps: PeerSessionDeps) {
    super();
    this.budget = deps.budget ?? new MediaBudget(mediaLimitsOf(deps.config), { workers: deps.config.workers });
    this.deps = { ...deps, budget: this.budget };
    if (deps.config.workers > 1) this.pool = new WorkerPool(deps.config, deps.store, deps.log, this.budget);
  }

  get size(): number {
    return this.sessions.size;
  }

  get isFull(): boolean {
    return this.sessions.size >= this.deps.config.maxSessions;
  }

  /** A new session; throws TooManySessionsError at `maxSessions` (one limit for WebSocket and WHIP alike). */
  create(): Session {
    if (this.isFull) throw new TooManySessionsError(this.deps.config.maxSessions);
    const id = randomUUID();
    const session: Session = this.pool ? this.pool.create(id, this.deps.log) : new PeerSession(id, this.deps);
    this.sessions.set(session.id, session);
    session.on("recording", (event, meta) => this.emit("recording", event, meta));
    session.once("closed", (reason) => {
      this.sessions.delete(session.id);
      const totals = session.totals();
      for (const key of Object.keys(totals) as (keyof SessionTotals)[]) this.retired[key] += totals[key];
      this.emit("closed", reason);
    });
    return session;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  /** Counters over every session since start, live and closed. */
  totals(): SessionTotals {
    const sum = { ...this.retired };
    for (const s of this.sessions.values()) {
      const t = s.totals();
      for (const key of Object.keys(t) as (keyof SessionTotals)[]) sum[key] += t[key];
    }
    return sum;
  }

  async closeAll(reason: CloseReason): Promise<void> {
    await Promise.all(this.list().map((s) => s.close(reason)));
  }

  /** Resolves once the session workers (if any) have started. */
  async ready(): Promise<void> {
    await this.pool?.ready();
  }

  /** Sessions placed on each worker thread since start (undefined without workers). */
  get workerSessionsStarted(): number[] | undefined {
    return this.pool?.sessionsStarted;
  }

  /** Server shutdown: finalizes every session, then stops the session workers. */
  async close(reason: CloseReason): Promise<void> {
    await this.closeAll(reason);
    await this.pool?.terminate();
  }
}
