import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import type { PeerSession } from "../../session/peerSession.ts";
import type { SessionRegistry } from "../../session/sessionRegistry.ts";
import { RecbotError, errorMessage } from "../../util/errors.ts";
import { parseClientMessage, type ClientMessage, type ServerMessage } from "../schemas/wsMessages.ts";

/** WebSocket close codes recbot uses (RFC 6455 §7.4; 4000+ are application codes). */
export const CloseCodes = {
  normal: 1000,
  goingAway: 1001,
  tooLarge: 1009, // sent by ws itself when a message exceeds maxMessageBytes
  internal: 1011,
  sessionFailed: 4001,
} as const;

/** `/ws`: one socket ↔ one PeerSession, JSON messages as documented in the README. */
export async function wsRoute(app: FastifyInstance, { registry }: { registry: SessionRegistry }): Promise<void> {
  app.get("/ws", { websocket: true }, (socket) => {
    new WsConnection(socket, registry);
  });
}

class WsConnection {
  private session!: PeerSession;
  private offered = false;
  private ended = false;

  private readonly socket: WebSocket;
  private readonly registry: SessionRegistry;

  constructor(socket: WebSocket, registry: SessionRegistry) {
    this.socket = socket;
    this.registry = registry;
    this.session = this.newSession();
    socket.on("message", (data, isBinary) => {
      if (isBinary) return this.error("bad_message", "binary messages are not supported; send JSON text");
      void this.onMessage(data.toString());
    });
    socket.on("close", () => void this.session.close("socket_closed"));
    socket.on("error", (err) => this.session.log.warn({ err }, "websocket error"));
  }

  private newSession(): PeerSession {
    const session = this.registry.create();
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

  private send(message: ServerMessage): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private error(code: string, message: string): void {
    this.send({ type: "error", code, message });
  }

  private async onMessage(text: string): Promise<void> {
    const parsed = parseClientMessage(text);
    if (!parsed.ok) return this.error(parsed.code, parsed.message);
    try {
      await this.handle(parsed.message);
    } catch (err) {
      if (err instanceof RecbotError) return this.error(err.code, err.message);
      this.session.log.error({ err }, "unexpected error handling message");
      this.error("internal", errorMessage(err));
    }
  }

  private async handle(message: ClientMessage): Promise<void> {
    if (this.ended) return this.error("no_session", "the session has ended; open a new socket");
    switch (message.type) {
      case "offer": {
        if (this.offered) return this.error("duplicate_offer", "an offer was already accepted on this socket");
        this.offered = true;
        const session = this.session;
        try {
          const sdp = await session.acceptOffer(message.sdp, { echo: message.mode === "echo" });
          this.send({ type: "answer", sdp, sessionId: session.id });
        } catch (err) {
          // Leave nothing behind: drop the half-made peer, keep the socket usable for a corrected offer.
          this.offered = false;
          this.session = this.newSession();
          await session.close("offer_failed");
          throw err;
        }
        return;
      }
      case "candidate":
        return this.session.addCandidate(message.candidate);
      case "bye": {
        this.ended = true;
        await this.session.close("bye");
        this.socket.close(CloseCodes.normal, "bye");
        return;
      }
    }
  }
}
