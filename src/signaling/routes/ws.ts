import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import type { Config } from "../../config/schema.ts";
import { clientIceServerUrls, iceServersFor } from "../../session/iceServers.ts";
import type { CodecName } from "../../media/types.ts";
import type { Session } from "../../session/session.ts";
import type { SessionRegistry } from "../../session/sessionRegistry.ts";
import { RecbotError, errorMessage } from "../../util/errors.ts";
import { parseClientMessage, type ClientMessage, type ParseResult, type ServerMessage } from "../schemas/wsMessages.ts";

/** WebSocket close codes recbot uses (RFC 6455 §7.4; 4000+ are application codes). */
export const CloseCodes = {
  normal: 1000,
  goingAway: 1001,
  tooLarge: 1009, // sent by ws itself when a message exceeds maxMessageBytes
  internal: 1011,
  tryAgainLater: 1013,
  sessionFailed: 4001,
} as const;

/** `/ws`: one socket ↔ one PeerSession, JSON messages as documented in the README. */
export async function wsRoute(app: FastifyInstance, { registry, config }: { registry: SessionRegistry; config: Config }): Promise<void> {
  app.get("/ws", { websocket: true }, (socket) => {
    if (registry.isFull) {
      socket.send(JSON.stringify({ type: "error", code: "too_many_sessions", message: "recbot is at its session limit; try again later" }));
      socket.close(CloseCodes.tryAgainLater, "too many sessions");
      return;
    }
    const connection = new WsConnection(socket, registry);
    // First message: the STUN/TURN servers (fresh TURN credentials) to build the client's RTCPeerConnection with.
    connection.send({ type: "ice-servers", iceServers: iceServersFor(config, connection.id, clientIceServerUrls(config)) });
  });
}

class WsConnection {
  private session!: Session;
  /** Where the offer/answer exchange is: "call" = recbot's offer is waiting for the client's answer. */
  private phase: "none" | "call" | "done" = "none";
  /** Messages are handled one after another, in order: a candidate never overtakes its offer. */
  private queue: Promise<void> = Promise.resolve();
  private ended = false;

  private readonly socket: WebSocket;
  private readonly registry: SessionRegistry;

  constructor(socket: WebSocket, registry: SessionRegistry) {
    this.socket = socket;
    this.registry = registry;
    this.session = this.newSession();
    socket.on("message", (data, isBinary) => {
      if (isBinary) return this.error("bad_message", "binary messages are not supported; send JSON text");
      // After bye nothing reaches the session; say so at once, before the socket closes.
      if (this.ended) return this.error("no_session", "the session has ended; open a new socket");
      const parsed = parseClientMessage(data.toString());
      if (parsed.ok && parsed.message.type === "bye") this.ended = true;
      this.queue = this.queue.then(() => this.onMessage(parsed));
    });
    socket.on("close", () => {
      this.ended = true;
      void this.session.close("socket_closed");
    });
    socket.on("error", (err) => this.session.log.warn({ err }, "websocket error"));
  }

  private newSession(): Session {
    const session = this.registry.create();
    session.startConnectTimer();
    session.on("candidate", (candidate) => this.send({ type: "candidate", candidate }));
    session.on("recording", (r) => this.send({ type: "recording", ...r }));
    session.once("closed", (reason) => {
      if (this.session !== session || this.ended) return;
      // The peer went away (ICE/DTLS failure, disconnect): tell the client, then end the socket.
      this.error(reason, `session closed: ${reason}`);
      this.socket.close(CloseCodes.sessionFailed, reason.slice(0, 100));
    });
    return session;
  }

  get id(): string {
    return this.session.id;
  }

  send(message: ServerMessage): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private error(code: string, message: string): void {
    this.send({ type: "error", code, message });
  }

  private async onMessage(parsed: ParseResult): Promise<void> {
    if (!parsed.ok) return this.error(parsed.code, parsed.message);
    try {
      await this.handle(parsed.message);
    } catch (err) {
      if (err instanceof RecbotError) return this.error(err.code, err.message);
      this.session.log.error({ err }, "unexpected error handling message");
      this.error("internal", errorMessage(err));
    }
  }

  /** One step of the offer/answer exchange; on failure drop the half-made peer and keep the socket usable. */
  private async exchange(next: "call" | "done", step: (session: Session) => Promise<void>): Promise<void> {
    this.phase = next;
    const session = this.session;
    try {
      await step(session);
    } catch (err) {
      this.phase = "none";
      // A fresh session for a corrected offer, unless the socket is already gone (nothing would close it).
      if (this.socket.readyState === this.socket.OPEN) this.session = this.newSession();
      await session.close("offer_failed");
      throw err;
    }
  }

  private async handle(message: ClientMessage): Promise<void> {
    switch (message.type) {
      case "offer": {
        if (this.phase !== "none") return this.error("duplicate_offer", "an offer was already exchanged on this socket");
        return this.exchange("done", async (session) => {
          const sdp = await session.acceptOffer(message.sdp, { echo: message.mode === "echo" });
          this.send({ type: "answer", sdp, sessionId: session.id });
        });
      }
      case "call": {
        if (this.phase !== "none") return this.error("duplicate_offer", "an offer was already exchanged on this socket");
        if ((message.audio ?? 1) + (message.video ?? 1) === 0) return this.error("bad_message", "a call needs at least one audio or video transceiver");
        return this.exchange("call", async (session) => {
          const sdp = await session.createOffer({ audio: message.audio, video: message.video, codecs: message.codecs as CodecName[] | undefined });
          this.send({ type: "offer", sdp, sessionId: session.id });
        });
      }
      case "answer": {
        if (this.phase !== "call") return this.error("unexpected_answer", 'no offer from recbot is waiting for an answer; send {"type":"call"} first');
        return this.exchange("done", (session) => session.acceptAnswer(message.sdp));
      }
      case "candidate":
        return this.session.addCandidate(message.candidate);
      case "bye": {
        await this.session.close("bye");
        this.socket.close(CloseCodes.normal, "bye");
        return;
      }
    }
  }
}
