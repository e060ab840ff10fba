/**
 * A session worker thread (config `workers` > 1): runs real PeerSessions (werift peer, media
 * pipelines, ffmpeg recorders) for the main thread's RemoteSessions, so per-packet work (SRTP,
 * depacketizing) spreads over cores. Signaling stays on the main thread; see workerPool.ts.
 */
import { parentPort, workerData } from "node:worker_threads";
import pino from "pino";
import type { Config } from "../config/schema.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import { RecordingStore } from "../recordings/store.ts";
import { InvalidStateError, toWire } from "../util/errors.ts";
import { MediaBudget, mediaLimitsOf } from "./mediaBudget.ts";
import { PeerSession } from "./peerSession.ts";
import { sessionCalls, type SessionEvents } from "./session.ts";
import type { CallMessage, EventMessage, FromWorker, MirroredState, ToWorker, WorkerInit } from "./workerProtocol.ts";

const STATE_INTERVAL_MS = 1000;

const port = parentPort!;
const { index, config: rawConfig, mediaBudget } = workerData as WorkerInit;
const config = rawConfig as Config;
const budget = new MediaBudget(mediaLimitsOf(config), { shared: mediaBudget, owner: index });
const post = (message: FromWorker) => port.postMessage(message);

/**
 * Sidecars are written by the main thread's store, so its index (GET /recordings) stays the one
 * truth; the recorder still awaits the write as with a local store.
 */
class ForwardingStore extends RecordingStore {
  private nextReq = 1;
  readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  override writeMetadata(meta: RecordingMetadata): Promise<void> {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject });
      post({ t: "writeMeta", req, meta: structuredClone(meta) });
    });
  }
}

const store = new ForwardingStore(config.recordingsDir);
const log = pino({ level: config.logLevel }).child({ worker: index });
const sessions = new Map<string, PeerSession>();

function stateOf(session: PeerSession): MirroredState {
  return {
    totals: session.totals(),
    trackCodecs: session.trackCodecs,
    recordings: session.recordings.map((m) => structuredClone(m)),
    connectionState: session.connectionState,
    selectedPair: session.selectedPair,
  };
}

const pushState = (session: PeerSession) => post({ t: "state", id: session.id, state: stateOf(session) });

function create(id: string): void {
  const session = new PeerSession(id, { config, store, log, codecPreference: config.codecs, budget });
  sessions.set(id, session);
  const forward = <E extends keyof SessionEvents>(event: E, ...args: SessionEvents[E]) => post({ t: "event", id, event, args } as EventMessage);
  session.on("candidate", (c) => forward("candidate", c));
  session.on("recording", (event, meta) => {
    pushState(session);
    forward("recording", event, structuredClone(meta));
  });
  session.once("closed", (reason) => {
    sessions.delete(id);
    pushState(session); // final counters before "closed", so the registry retires the right totals
    forward("closed", reason);
  });
}

/** The dispatcher: any method of the session contract's SessionCalls, by name. */
async function call(message: CallMessage): Promise<unknown> {
  const session = sessions.get(message.id);
  if (!session) throw new InvalidStateError("session is closed", { sessionId: message.id });
  if (!sessionCalls.includes(message.method)) throw new TypeError(`not a session method: ${String(message.method)}`);
  return (session[message.method] as (...args: unknown[]) => Promise<unknown>).apply(session, message.args);
}

function reply(req: number, work: () => Promise<unknown>): void {
  work().then(
    (value) => post({ t: "reply", req, value }),
    (err) => post({ t: "reply", req, error: toWire(err) }),
  );
}

port.on("message", (message: ToWorker) => {
  switch (message.t) {
    case "create":
      return create(message.id);
    case "call":
      return reply(message.req, () => call(message));
    case "close":
      return reply(message.req, async () => {
        await sessions.get(message.id)?.close(message.reason);
      });
    case "connectTimer":
      return sessions.get(message.id)?.startConnectTimer();
    case "metaWritten": {
      const waiter = store.pending.get(message.req);
      store.pending.delete(message.req);
      if (message.error === undefined) waiter?.resolve();
      else waiter?.reject(new Error(message.error));
      return;
    }
  }
});

post({ t: "ready" }); // modules loaded (werift takes a while): the pool waits for this before serving

// Counters for /metrics, pushed rather than asked for so the proxy's getters stay synchronous.
setInterval(() => {
  for (const s of sessions.values()) pushState(s);
}, STATE_INTERVAL_MS);
