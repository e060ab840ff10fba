import type { RTCPeerConnection } from "werift";
import { RecbotError, errorMessage } from "../util/errors.ts";
import type { IceCandidateJson } from "./session.ts";

const MAX_PENDING_CANDIDATES = 100;

/**
 * Remote ICE candidates (trickle): held until the remote description is applied (a bounded number), then
 * given to werift in order. `null` or an empty candidate is the end of candidates, which werift needs not.
 */
export class CandidateQueue {
  private readonly pending: (IceCandidateJson | null)[] = [];
  private pc: RTCPeerConnection | undefined;
  private readonly sessionId: string;

  constructor(sessionId: string) {
    this.sessionId = sessionId;
  }

  async add(candidate: IceCandidateJson | null): Promise<void> {
    if (this.pc) return this.apply(this.pc, candidate);
    if (this.pending.length >= MAX_PENDING_CANDIDATES) {
      throw new RecbotError("too_many_candidates", `more than ${MAX_PENDING_CANDIDATES} candidates before the offer`, { sessionId: this.sessionId });
    }
    this.pending.push(candidate);
  }

  /** The remote description is applied: candidates go to `pc` from now on, the held ones first. */
  async open(pc: RTCPeerConnection): Promise<void> {
    this.pc = pc;
    for (const c of this.pending.splice(0)) await this.apply(pc, c);
  }

  private async apply(pc: RTCPeerConnection, candidate: IceCandidateJson | null): Promise<void> {
    if (candidate === null || candidate.candidate === "") return;
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
