import type { RecordingMetadata } from "../recordings/metadata.ts";
import type { WireError } from "../util/errors.ts";
import type { CloseReason, SessionCall, SessionCalls, SessionEvents, SessionState, SessionTotals } from "./session.ts";

/**
 * Messages between the main thread (RemoteSession, WorkerPool) and a session worker (sessionWorker.ts).
 * Calls and events are derived from the session contract (SessionCalls, SessionEvents), so a method or
 * event added there crosses the thread without a change here. Errors cross as WireError (by code).
 */

/** A call of one of the session's asynchronous methods, with that method's arguments. */
export type CallMessage = { [M in SessionCall]: { t: "call"; id: string; req: number; method: M; args: Parameters<SessionCalls[M]> } }[SessionCall];

/** One of the session's events, with that event's arguments. */
export type EventMessage = { [E in keyof SessionEvents]: { t: "event"; id: string; event: E; args: SessionEvents[E] } }[keyof SessionEvents];

export type ToWorker =
  | { t: "create"; id: string }
  | CallMessage
  | { t: "close"; id: string; req: number; reason: CloseReason }
  | { t: "connectTimer"; id: string }
  | { t: "metaWritten"; req: number; error?: string };

/** The synchronous getters of a session, mirrored on the main thread (pushed by the worker). */
export interface MirroredState extends SessionState {
  totals: SessionTotals;
}

export type FromWorker =
  | { t: "ready" }
  | { t: "reply"; req: number; value?: unknown; error?: WireError }
  | EventMessage
  | { t: "state"; id: string; state: MirroredState }
  | { t: "writeMeta"; req: number; meta: RecordingMetadata };

/** What the worker gets as workerData. */
export interface WorkerInit {
  index: number;
  /** The config with this worker's slice of udpPortRange. */
  config: unknown;
  /** The MediaBudget's shared counters (one budget over all threads). */
  mediaBudget: SharedArrayBuffer;
}
