import type { FastifyBaseLogger as Logger } from "fastify";
import type { Config } from "../config/schema.ts";
import { clientIceServerUrls, iceServersFor } from "../session/iceServers.ts";
import type { Session } from "../session/session.ts";
import { RecbotError } from "../util/errors.ts";
import { MAX_SIGNAL_BYTES, type CallServerMessage } from "../signaling/schemas/callMessages.ts";
import type { Call, CompositeStatus, Participant } from "./call.ts";
import type { CallRegistry } from "./callRegistry.ts";

type CallClientMessage =
  | { type: "join"; callId: string; name: string }
  | { type: "leave" }
  | { type: "signal"; to: string; data: object };

export interface CallMemberDeps {
  calls: CallRegistry;
  config: Config;
  log: Logger;
  send: (message: CallServerMessage) => void;
}

const summary = (p: Participant) => ({ id: p.id, name: p.name, joinedAt: p.joinedAt });

/**
 * One socket's part in a call: join, leave, relay to another participant of the same call, and the link between
 * the socket's recbot session (if it publishes) and its participant. The /ws route owns the socket and the session.
 */
export class CallMember {
  call: Call | undefined;
  participant: Participant | undefined;
  private session: Session | undefined;
  private readonly deps: CallMemberDeps;
  private readonly onComposite = (status: CompositeStatus) => this.deps.send({ type: "composite", callId: this.call!.id, ...status });

  constructor(deps: CallMemberDeps) {
    this.deps = deps;
  }

  get joined(): boolean {
    return this.participant !== undefined && this.participant.leftAt === undefined;
  }

  handle(message: CallClientMessage): void {
    switch (message.type) {
      case "join":
        return this.join(message.callId, message.name.trim());
      case "leave":
        return this.leave("left");
      case "signal":
        return this.relay(message.to, message.data);
    }
  }

  private join(callId: string, name: string): void {
    if (this.participant) throw new RecbotError("already_joined", `this socket already joined call ${this.call!.id}; open another socket for another call`);
    const { calls, config } = this.deps;
    const { call, participant } = calls.join(callId, name, { send: (m) => this.deps.send(m as CallServerMessage) });
    this.call = call;
    this.participant = participant;
    call.on("composite", this.onComposite);
    this.deps.send({
      type: "joined", callId, instance: call.instance, participantId: participant.id,
      participants: call.present.filter((p) => p !== participant).map(summary),
      // The same STUN/TURN servers (fresh TURN credentials) as GET /ice-servers, for the participants' own P2P connection.
      iceServers: iceServersFor(config, participant.id, clientIceServerUrls(config)),
    });
    call.broadcast({ type: "participant-joined", callId, participant: summary(participant) }, participant.id);
    if (this.session && !this.session.closed) calls.attach(call, participant, this.session);
  }

  /** Relays `data` to a participant present in this socket's call; ids from other calls are simply unknown here. */
  private relay(to: string, data: object): void {
    if (!this.joined) throw new RecbotError("not_joined", 'join a call first ({"type":"join","callId":…,"name":…})');
    if (to === this.participant!.id) throw new RecbotError("bad_target", "a participant cannot signal itself");
    const target = this.call!.participants.get(to);
    if (!target || target.leftAt !== undefined) throw new RecbotError("unknown_participant", `no participant ${to} in call ${this.call!.id}`);
    const size = Buffer.byteLength(JSON.stringify(data));
    if (size > MAX_SIGNAL_BYTES) throw new RecbotError("signal_too_large", `signal data is ${size} bytes; the limit is ${MAX_SIGNAL_BYTES}`);
    target.link?.send({ type: "signal", from: this.participant!.id, data });
  }

  /** The socket's session publishes media (an offer or a call was exchanged): it is this participant's. */
  publishing(session: Session): void {
    this.session = session;
    if (this.joined) this.deps.calls.attach(this.call!, this.participant!, session);
  }

  /** Leaves the call (idempotent): the others are told; the participant's WHIP sessions are closed. */
  leave(reason: string): void {
    const { call, participant } = this;
    if (!call || !participant || participant.leftAt !== undefined) return;
    participant.link = undefined;
    call.off("composite", this.onComposite);
    call.leave(participant.id, reason);
    call.broadcast({ type: "participant-left", callId: call.id, participantId: participant.id, reason });
    void this.deps.calls.closeSessionsOf(call, participant, "left_call").catch((err) => this.deps.log.warn({ err }, "closing a participant's sessions failed"));
  }
}
