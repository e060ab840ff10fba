import type { RecordingMetadata } from "../recordings/metadata.ts";
import type { SessionTotals } from "./peerSession.ts";
import type { SelectedPair } from "./selectedPair.ts";

/** Messages between the main thread (RemoteSession, WorkerPool) and a session worker (sessionWorker.ts). */

export type SessionMethod = "acceptOffer" | "createOffer" | "acceptAnswer" | "addCandidate";

export type ToWorker =
  | { t: "create"; id: string }
  | { t: "call"; id: string; req: number; method: SessionMethod; args: unknown[] }
  | { t: "close"; id: string; req: number; reason: string }
  | { t: "connectTimer"; id: string }
  | { t: "metaWritten"; req: number; error?: string };

/** The synchronous getters of a session, mirrored on the main thread. */
export interface SessionState {
  totals: SessionTotals;
  trackCodecs: string[];
  recordings: RecordingMetadata[];
  connectionState: string;
  selectedPair: SelectedPair | undefined;
}

export interface WireError {
  name: string;
  code?: string;
  message: string;
}

export type FromWorker =
  | { t: "ready" }
  | { t: "reply"; req: number; value?: unknown; error?: WireError }
  | { t: "event"; id: string; event: "candidate" | "recording" | "closed"; args: unknown[] }
  | { t: "state"; id: string; state: SessionState }
  | { t: "writeMeta"; req: number; meta: RecordingMetadata };

/** What the worker gets as workerData. */
export interface WorkerInit {
  index: number;
  /** The config with this worker's slice of udpPortRange. */
  config: unknown;
}
