import { Type } from "@sinclair/typebox";

/** A call id: letters, digits, `_` and `-` (it appears in URLs and file metadata). */
export const CALL_ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$";
/** Participant ids are recbot's: `p_` and 16 hex digits. */
export const PARTICIPANT_ID_PATTERN = "^p_[0-9a-f]{16}$";
/** The largest relayed signaling payload (JSON text): an SDP with every codec and candidate fits many times. */
export const MAX_SIGNAL_BYTES = 64 * 1024;

/** Call messages on /ws (docs/calls.md). */
export const CallMessages = {
  /** Join (or start) a call; recbot answers `joined` with the participant's id and who is there. */
  join: Type.Object({
    type: Type.Literal("join"),
    callId: Type.String({ pattern: CALL_ID_PATTERN }),
    // No control characters; the name is drawn on the composite and shown to the others.
    name: Type.String({ minLength: 1, maxLength: 64, pattern: "^(?=.*\\S)[^\\u0000-\\u001f\\u007f]+$" }),
  }),
  /** Leave the call (the socket then closes, like `bye`). */
  leave: Type.Object({ type: Type.Literal("leave") }),
  /** An opaque message (offer, answer, candidate …) for another participant of the same call. */
  signal: Type.Object({
    type: Type.Literal("signal"),
    to: Type.String({ pattern: PARTICIPANT_ID_PATTERN }),
    data: Type.Object({}, { additionalProperties: true }),
  }),
};

export interface ParticipantSummary {
  id: string;
  name: string;
  joinedAt: string;
}

export type CallServerMessage =
  | { type: "joined"; callId: string; instance: number; participantId: string; participants: ParticipantSummary[]; iceServers: object[] }
  | { type: "participant-joined"; callId: string; participant: ParticipantSummary }
  | { type: "participant-left"; callId: string; participantId: string; reason: string }
  | { type: "signal"; from: string; data: object }
  | { type: "composite"; callId: string; state: string; percent?: number; recordingId?: string; error?: string };
