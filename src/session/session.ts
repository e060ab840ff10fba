import type { EventEmitter } from "node:events";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { CodecName } from "../media/types.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import type { SelectedPair } from "./selectedPair.ts";

/**
 * The session contract: what the signaling edge and the registry use of a session, a PeerSession in
 * this thread or a RemoteSession whose PeerSession lives in a worker thread (config `workers` > 1).
 * The types here are the whole vocabulary between them; nothing below imports an implementation.
 */

/**
 * Why a session closed. Sent to WebSocket clients as the error `code` (and close reason) when the
 * session ends on its own, logged in "closing session", and counted by the bench.
 */
export type CloseReason =
  // asked for by the client or the server
  | "closed" // close() without a reason
  | "bye" // WS {"type":"bye"}
  | "socket_closed" // the client's WebSocket went away
  | "whip_delete" // WHIP DELETE
  | "offer_failed" // the offer/answer step failed; the client may retry on a fresh session
  | "server_closing" // graceful shutdown
  | "rate_limited" // the WS client sent more than wsMessagesPerSecond
  | "slow_consumer" // the WS client left more than wsMaxBufferedBytes unread
  | "left_call" // the call participant this session published for left the call (src/calls)
  | "call_ended" // the session's call ended (its last participant left)
  // the connection
  | "connect_timeout" // ICE/DTLS not connected within connectTimeoutSeconds
  | "ice_failed"
  | "dtls_failed" // ICE connected, the DTLS handshake failed
  | "peer_closed"
  | "peer_disconnected" // ICE disconnected for longer than the grace period
  | "peer_timeout" // no media for peerTimeoutSeconds
  // the recording
  | "max_duration"
  | "max_size"
  | "recording_failed" // every recorder of the session failed
  | "worker_failed"; // the session's worker thread died

export interface IceCandidateJson {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export interface RecordingEvent {
  recordingId: string;
  state: "started" | "finished" | "failed";
  file: string;
  streamId: string;
  error?: string;
}

export interface SessionEvents {
  candidate: [IceCandidateJson | null];
  recording: [RecordingEvent, RecordingMetadata];
  closed: [reason: CloseReason];
}

export interface OfferOptions {
  /** Send each received track back on the same connection (the offer's m-lines must be sendrecv). */
  echo?: boolean;
}

export interface CallOptions {
  audio?: number;
  video?: number;
  codecs?: readonly CodecName[];
}

/** Counters of one session, summed by the registry for /metrics. */
export interface SessionTotals {
  packets: number;
  bytes: number;
  lost: number;
  nacks: number;
  keyframeRequests: number;
  framesWritten: number;
  recordingBytes: number;
  /** Frames given up, in all (incomplete, before a keyframe, ...) and by the reasons below (see TrackStats). */
  framesDropped: number;
  framesTooLarge: number;
  framesInvalid: number;
  framesBackwards: number;
  timelineJumps: number;
}

export const emptyTotals = (): SessionTotals => ({
  packets: 0, bytes: 0, lost: 0, nacks: 0, keyframeRequests: 0, framesWritten: 0, recordingBytes: 0,
  framesDropped: 0, framesTooLarge: 0, framesInvalid: 0, framesBackwards: 0, timelineJumps: 0,
});

/**
 * The asynchronous methods of a session: one map from which the worker RPC derives both its proxy
 * (RemoteSession) and its dispatcher (sessionWorker.ts).
 */
export interface SessionCalls {
  acceptOffer(sdp: string, options?: OfferOptions): Promise<string>;
  createOffer(options?: CallOptions): Promise<string>;
  acceptAnswer(sdp: string): Promise<void>;
  addCandidate(candidate: IceCandidateJson | null): Promise<void>;
}

export type SessionCall = keyof SessionCalls;

/** The names of SessionCalls at run time (`satisfies` makes the compiler check that none is missing). */
export const sessionCalls = Object.keys({
  acceptOffer: true, createOffer: true, acceptAnswer: true, addCandidate: true,
} satisfies Record<SessionCall, true>) as SessionCall[];

/** The synchronous getters of a session (mirrored on the main thread for a worker's sessions). */
export interface SessionState {
  readonly connectionState: string;
  readonly selectedPair: SelectedPair | undefined;
  readonly recordings: readonly RecordingMetadata[];
  readonly trackCodecs: string[];
}

export interface Session extends EventEmitter<SessionEvents>, SessionCalls, SessionState {
  readonly id: string;
  readonly log: Logger;
  readonly closed: boolean;
  totals(): SessionTotals;
  startConnectTimer(): void;
  /** Finalizes every recording, then closes the peer connection. Idempotent. */
  close(reason?: CloseReason): Promise<void>;
}
