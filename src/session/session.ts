import type { EventEmitter } from "node:events";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { CodecName } from "../media/types.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import type { IceCandidateJson, OfferOptions, PeerSessionEvents, SessionTotals } from "./peerSession.ts";
import type { SelectedPair } from "./selectedPair.ts";

/**
 * What the signaling edge and the registry use of a session: a PeerSession in this thread, or a
 * RemoteSession whose PeerSession lives in a worker thread (config `workers` > 1).
 */
export interface Session extends EventEmitter<PeerSessionEvents> {
  readonly id: string;
  readonly log: Logger;
  readonly closed: boolean;
  readonly connectionState: string;
  readonly selectedPair: SelectedPair | undefined;
  readonly recordings: readonly RecordingMetadata[];
  readonly trackCodecs: string[];
  totals(): SessionTotals;
  startConnectTimer(): void;
  acceptOffer(sdp: string, options?: OfferOptions): Promise<string>;
  createOffer(options?: { audio?: number; video?: number; codecs?: readonly CodecName[] }): Promise<string>;
  acceptAnswer(sdp: string): Promise<void>;
  addCandidate(candidate: IceCandidateJson | null): Promise<void>;
  close(reason?: string): Promise<void>;
}
