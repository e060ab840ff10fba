import { EventEmitter } from "node:events";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import { InvalidStateError, fromWire, isWireError } from "../util/errors.ts";
import type { SelectedPair } from "./selectedPair.ts";
import { emptyTotals, sessionCalls, type CloseReason, type Session, type SessionCall, type SessionCalls, type SessionEvents, type SessionTotals } from "./session.ts";
import type { CallMessage, EventMessage, FromWorker, MirroredState, ToWorker } from "./workerProtocol.ts";

/** How a RemoteSession reaches its worker (implemented by WorkerPool). */
export interface WorkerLink {
  readonly index: number;
  send(message: ToWorker): void;
  /** Sends a request and resolves with the worker's reply (rejects with a WireError). */
  request(build: (req: number) => ToWorker): Promise<unknown>;
}

// The asynchronous methods (SessionCalls) are made from the method list below, one message each.
export interface RemoteSession extends SessionCalls {}

/**
 * A session whose PeerSession runs in a worker thread: same surface as PeerSession for the edge and
 * the registry. Calls are messages; the getters read the state the worker pushes (each second, on
 * recording events and before "closed").
 */
export class RemoteSession extends EventEmitter<SessionEvents> implements Session {
  static {
    for (const method of sessionCalls) {
      (RemoteSession.prototype as unknown as Record<SessionCall, unknown>)[method] = function (this: RemoteSession, ...args: unknown[]) {
        return this.call(method, args);
      };
    }
  }

  readonly id: string;
  readonly log: Logger;
  readonly createdAt = Date.now();
  private readonly link: WorkerLink;
  private state: MirroredState = { totals: emptyTotals(), trackCodecs: [], recordings: [], connectionState: "new", selectedPair: undefined };
  private closing: Promise<void> | undefined;
  private ended = false;
  private resolveClosed!: () => void;
  private readonly closedPromise = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(id: string, link: WorkerLink, log: Logger) {
    super();
    this.id = id;
    this.link = link;
    this.log = log.child({ sessionId: id, worker: link.index });
    link.send({ t: "create", id });
  }

  /** Which worker thread runs this session (0-based). */
  get workerIndex(): number {
    return this.link.index;
  }

  get closed(): boolean {
    return this.closing !== undefined || this.ended;
  }

  get connectionState(): string {
    return this.state.connectionState;
  }

  get selectedPair(): SelectedPair | undefined {
    return this.state.selectedPair;
  }

  get recordings(): readonly RecordingMetadata[] {
    return this.state.recordings;
  }

  get trackCodecs(): string[] {
    return this.state.trackCodecs;
  }

  totals(): SessionTotals {
    return { ...this.state.totals };
  }

  startConnectTimer(): void {
    if (!this.ended) this.link.send({ t: "connectTimer", id: this.id });
  }

  /** Finalizes the recordings in the worker; resolves once the session has closed there. Idempotent. */
  close(reason: CloseReason = "closed"): Promise<void> {
    this.closing ??= this.ended
      ? Promise.resolve()
      : Promise.all([this.link.request((req) => ({ t: "close", id: this.id, req, reason })).catch(() => {}), this.closedPromise]).then(() => {});
    return this.closing;
  }

  private async call(method: SessionCall, args: unknown[]): Promise<unknown> {
    if (this.closed) throw new InvalidStateError("session is closed", { sessionId: this.id });
    try {
      return await this.link.request((req) => ({ t: "call", id: this.id, req, method, args }) as CallMessage);
    } catch (err) {
      throw isWireError(err) ? fromWire(err, { sessionId: this.id }) : err;
    }
  }

  /** A message from the worker about this session. */
  receive(message: Extract<FromWorker, { t: "state" }> | EventMessage): void {
    if (message.t === "state") {
      this.state = message.state;
      return;
    }
    if (this.ended) return;
    if (message.event === "closed") return this.end(message.args[0]);
    (this.emit as (event: string, ...args: unknown[]) => boolean)(message.event, ...message.args);
  }

  /** The session is gone in the worker (closed there, or the worker died). */
  end(reason: CloseReason): void {
    if (this.ended) return;
    this.ended = true;
    this.resolveClosed();
    this.emit("closed", reason);
    this.removeAllListeners();
  }
}
