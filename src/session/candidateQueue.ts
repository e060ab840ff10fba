import type { RTCPeerConnection } from "werift";
import { RecbotError, errorMessage } from "../util/errors.ts";
import type { IceCandidateJson } from "./session.ts";

/** Remote candidates one session takes in all: in the offer, trickled before it and after it (each costs werift pairing work). */
export const MAX_REMOTE_CANDIDATES = 100;

/**
 * Remote ICE candidates (trickle): held until the remote description is applied, then given to werift in
 * order; at most MAX_REMOTE_CANDIDATES in all. `null` or an empty candidate is the end of candidates, which
 * werift needs not (and which does not count).
 */
export class CandidateQueue {
  private readonly pending: IceCandidateJson[] = [];
  private taken = 0;
  private pc: RTCPeerConnection | undefined;
  private readonly sessionId: string;

  constructor(sessionId: string) {
    this.sessionId = sessionId;
  }

  async add(candidate: IceCandidateJson | null): Promise<void> {
    if (candidate === null || candidate.candidate === "") return;
    this.take(1);
    if (this.pc) return this.apply(this.pc, candidate);
    this.pending.push(candidate);
  }

  /** Candidates written in the offer itself count toward the same limit. */
  countInline(n: number): void {
    this.take(n);
  }

  private take(n: number): void {
    this.taken += n;
    if (this.taken > MAX_REMOTE_CANDIDATES) {
      throw new RecbotError("too_many_candidates", `more than ${MAX_REMOTE_CANDIDATES} ICE candidates in this session; the rest are ignored`, { sessionId: this.sessionId });
    }
  }

  /** The remote description is applied: candidates go to `pc` from now on, the held ones first. */
  async open(pc: RTCPeerConnection): Promise<void> {
    this.pc = pc;
    for (const c of this.pending.splice(0)) await this.apply(pc, c);
  }

  private async apply(pc: RTCPeerConnection, candidate: IceCandidateJson): Promise<void> {
    try {
      await pc.addIceCandidate({
        candidate: candidate.candidate,
        sdpMid: candidate.sdpMid ?? undefined,
        sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
      });
    } catch (err) {
      throw new RecbotError("invalid_candidate", `the candidate was rejected: ${errorMessage(err)}`, { sessionId: this.sessionId });
    }
  }
}
