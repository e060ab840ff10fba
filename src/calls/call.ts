import { randomBytes } from "node:crypto";
import path from "node:path";
import { EventEmitter } from "node:events";
import type { RecordingMetadata } from "../recordings/metadata.ts";

/** Where a participant's messages go (their socket); undefined for a participant known only from history. */
export interface ParticipantLink {
  send(message: object): void;
}

export interface Participant {
  id: string;
  name: string;
  joinedAt: string;
  joinedMs: number;
  leftAt?: string;
  leftMs?: number;
  leftReason?: string;
  /** recbot sessions publishing this participant's media (offer on their socket, or WHIP with their id). */
  sessionIds: string[];
  link?: ParticipantLink;
}

export type CompositeStatus =
  | { state: "none" }
  | { state: "waiting" | "queued" }
  | { state: "running"; percent: number }
  /** `file`: the composite's name in the recordings directory. */
  | { state: "finished"; recordingId: string; file: string; durationS: number; speed: number; cpuSpeed: number }
  | { state: "failed"; error: string };

export interface CallEvents {
  joined: [Participant];
  left: [Participant];
  /** The last participant left. */
  ended: [];
  composite: [CompositeStatus];
}

/** A participant's public view (no socket; file names relative to the recordings directory, never server paths). */
export function participantView(p: Participant, recordings: RecordingMetadata[] = []) {
  return {
    id: p.id, name: p.name, joinedAt: p.joinedAt, leftAt: p.leftAt, leftReason: p.leftReason, sessionIds: [...p.sessionIds],
    recordings: recordings.filter((r) => r.call?.participantId === p.id).map((r) => ({ id: r.id, state: r.state, file: path.basename(r.file), originMs: r.originMs, durationMs: r.durationMs, streamId: r.streamId })),
  };
}

/**
 * One call: who joined and left when, who publishes with which session, and its composite's state. An ended call
 * is history: joining its id again starts a new instance (see CallRegistry).
 */
export class Call extends EventEmitter<CallEvents> {
  readonly id: string;
  readonly instance: number;
  readonly startedAt = new Date().toISOString();
  readonly startedMs = Date.now();
  endedAt: string | undefined;
  endedMs: number | undefined;
  readonly participants = new Map<string, Participant>();
  composite: CompositeStatus = { state: "none" };

  constructor(id: string, instance: number) {
    super();
    this.id = id;
    this.instance = instance;
  }

  get ended(): boolean {
    return this.endedAt !== undefined;
  }

  get present(): Participant[] {
    return [...this.participants.values()].filter((p) => p.leftAt === undefined);
  }

  join(name: string, link?: ParticipantLink): Participant {
    const now = Date.now();
    const p: Participant = { id: `p_${randomBytes(8).toString("hex")}`, name, joinedAt: new Date(now).toISOString(), joinedMs: now, sessionIds: [], link };
    this.participants.set(p.id, p);
    this.emit("joined", p);
    return p;
  }

  /** Idempotent; the last one out ends the call. */
  leave(participantId: string, reason: string): void {
    const p = this.participants.get(participantId);
    if (!p || p.leftAt !== undefined) return;
    const now = Date.now();
    p.leftMs = now;
    p.leftAt = new Date(now).toISOString();
    p.leftReason = reason;
    this.emit("left", p);
    if (this.present.length === 0 && !this.ended) {
      this.endedMs = now;
      this.endedAt = p.leftAt;
      this.emit("ended");
    }
  }

  setComposite(status: CompositeStatus): void {
    this.composite = status;
    this.emit("composite", status);
  }

  /** Sends to every participant still linked (sockets still open), except `exceptId`. */
  broadcast(message: object, exceptId?: string): void {
    for (const p of this.participants.values()) if (p.id !== exceptId) p.link?.send(message);
  }

  view(recordings: RecordingMetadata[] = []) {
    return {
      id: this.id, instance: this.instance, state: this.ended ? "ended" : "active",
      startedAt: this.startedAt, endedAt: this.endedAt,
      participants: [...this.participants.values()].map((p) => participantView(p, recordings)),
      composite: this.composite,
    };
  }
}
