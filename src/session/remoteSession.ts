import { EventEmitter } from "node:events";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { CodecName } from "../media/types.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import { InvalidSdpError, InvalidStateError, RecbotError, UnsupportedCodecError } from "../util/errors.ts";
import type { IceCandidateJson, OfferOptions, PeerSessionEvents, RecordingEvent, SessionTotals } from "./peerSession.ts";
import type { SelectedPair } from "./selectedPair.ts";
import type { Session } from "./session.ts";
import type { FromWorker, SessionMethod, SessionState, ToWorker, WireError } from "./workerProtocol.ts";

/** How a RemoteSession reaches its worker (implemented by WorkerPool). */
export interface WorkerLink {
  readonly index: number;
  send(message: ToWorker): void;
  /** Sends a request and resolves with the worker's reply. */
  request(build: (req: number) => ToWorker): Promise<unknown>;
}

/** Rebuilds an error from the worker with its class and code, so the edge maps it as for a local session. */
export function fromWire(error: WireError, sessionId: string): Error {
  const context = { sessionId };
  switch (error.name) {
    case "InvalidSdpError":
      return new InvalidSdpError(error.message, context);
    case "InvalidStateError":
      return new InvalidStateError(error.message, context);
    case "UnsupportedCodecError":
      return new UnsupportedCodecError(error.message, context);
  }
  return error.code ? new RecbotError(error.code, error.message, context) : new Error(error.message);
}

const emptyTotals = (): SessionTotals => ({ packets: 0, bytes: 0, lost: 0, nacks: 0, keyframeRequests: 0, framesWritten: 0, recordingBytes: 0 });

/**
 * A session whose PeerSession runs in a worker thread: same surface as PeerSession for the edge and
 * the registry. Calls are messages; the getters read the state the worker pushes (each second, on
 * recording events and before "closed").
 */
export class RemoteSession extends EventEmitter<PeerSessionEvents> implements Session {
  readonly id: string;
  readonly log: Logger;
  readonly createdAt = Date.now();
  private readonly link: WorkerLink;
  private state: SessionState = { totals: emptyTotals(), trackCodecs: [], recordings: [], connectionState: "new", selectedPair: undefined };
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

  acceptOffer(sdp: string, options: OfferOptions = {}): Promise<string> {
    return this.call("acceptOffer", [sdp, options]) as Promise<string>;
  }

  createOffer(options: { audio?: number; video?: number; codecs?: readonly CodecName[] } = {}): Promise<string> {
    return this.call("createOffer", [options]) as Promise<string>;
  }

  acceptAnswer(sdp: string): Promise<void> {
    return this.call("acceptAnswer", [sdp]) as Promise<void>;
  }

  addCandidate(candidate: IceCandidateJson | null): Promise<void> {
    return this.call("addCandidate", [candidate]) as Promise<void>;
  }

  /** Finalizes the recordings in the worker; resolves once the session has closed there. Idempotent. */
  close(reason = "closed"): Promise<void> {
    this.closing ??= this.ended
      ? Promise.resolve()
      : Promise.all([this.link.request((req) => ({ t: "close", id: this.id, req, reason })).catch(() => {}), this.closedPromise]).then(() => {});
    return this.closing;
  }

  private async call(method: SessionMethod, args: unknown[]): Promise<unknown> {
    if (this.closed) throw new InvalidStateError("session is closed", { sessionId: this.id });
    try {
      return await this.link.request((req) => ({ t: "call", id: this.id, req, method, args }));
    } catch (err) {
      throw isWire(err) ? fromWire(err, this.id) : err;
    }
  }

  /** A message from the worker about this session. */
  receive(message: Extract<FromWorker, { t: "state" | "event" }>): void {
    if (message.t === "state") {
      this.state = message.state;
      return;
    }
    if (this.ended) return;
    if (message.event === "candidate") this.emit("candidate", message.args[0] as IceCandidateJson | null);
    else if (message.event === "recording") this.emit("recording", message.args[0] as RecordingEvent, message.args[1] as RecordingMetadata);
    else this.end(message.args[0] as string);
  }

  /** The session is gone in the worker (closed there, or the worker died). */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.resolveClosed();
    this.emit("closed", reason);
    this.removeAllListeners();
  }
}

function isWire(err: unknown): err is WireError {
  return typeof err === "object" && err !== null && !(err instanceof Error) && typeof (err as WireError).message === "string";
}
