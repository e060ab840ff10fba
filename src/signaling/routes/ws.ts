import path from "node:path";
import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import type { Config } from "../../config/schema.ts";
import type { CallRegistry } from "../../calls/callRegistry.ts";
import { CallMember } from "../../calls/callSignaling.ts";
import { clientIceServerUrls, iceServersFor } from "../../session/iceServers.ts";
import type { CodecName } from "../../media/types.ts";
import type { Session } from "../../session/session.ts";
import type { SessionRegistry } from "../../session/sessionRegistry.ts";
import { RecbotError, TooManySessionsError, errorMessage } from "../../util/errors.ts";
import { withoutDir } from "../../recordings/publicView.ts";
import { MessageRate } from "../messageRate.ts";
import { parseClientMessage, type ClientMessage, type ParseResult, type ServerMessage } from "../schemas/wsMessages.ts";

/** WebSocket close codes recbot uses (RFC 6455 §7.4; 4000+ are application codes). */
export const CloseCodes = {
  normal: 1000,
  goingAway: 1001,
  tooLarge: 1009, // sent by ws itself when a message exceeds maxMessageBytes
  policyViolation: 1008, // over wsMessagesPerSecond
  internal: 1011,
  tryAgainLater: 1013,
  sessionFailed: 4001,
  slowConsumer: 4008, // over wsMaxBufferedBytes: the client does not read what recbot sends
} as const;

/** A socket closed for flooding or not reading gets this long to take the close frame before it is cut. */
const TERMINATE_AFTER_MS = 2000;

/** `/ws`: one socket ↔ one PeerSession, JSON messages as documented in the README. */
export async function wsRoute(app: FastifyInstance, { registry, config, calls }: { registry: SessionRegistry; config: Config; calls: CallRegistry }): Promise<void> {
  app.get("/ws", { websocket: true }, (socket) => {
    let connection: WsConnection;
    try {
      connection = new WsConnection(socket, registry, config);
    } catch (err) {
      if (!(err instanceof TooManySessionsError)) throw err;
      socket.send(JSON.stringify({ type: "error", code: err.code, message: err.message }));
      socket.close(CloseCodes.tryAgainLater, "too many sessions");
      return;
    }
    connection.call = new CallMember({ calls, config, log: app.log, send: (m) => connection.send(m) });
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
  /** A session given up after a failed offer: its end is not the socket's. */
  private dropped: Session | undefined;
  /** Closed for flooding or not reading: nothing more is handled or sent. */
  private limited = false;
  /** This socket's part in a call (join/leave/signal messages; src/calls). */
  call: CallMember | undefined;

  private readonly socket: WebSocket;
  private readonly registry: SessionRegistry;
  private readonly config: Config;
  private readonly rate: MessageRate;

  constructor(socket: WebSocket, registry: SessionRegistry, config: Config) {
    this.socket = socket;
    this.registry = registry;
    this.config = config;
    // A burst of two seconds' worth covers a browser trickling all its candidates at once.
    this.rate = new MessageRate(config.wsMessagesPerSecond, Math.max(20, 2 * config.wsMessagesPerSecond), performance.now());
    this.session = this.newSession();
    socket.on("message", (data, isBinary) => {
      // Cheap checks first: a flood must cost as little as possible before it is cut off.
      if (this.limited) return;
      if (!this.rate.take(performance.now())) {
        return this.cutOff(CloseCodes.policyViolation, "rate_limited", `more than ${config.wsMessagesPerSecond} messages per second`);
      }
      if (isBinary) return this.error("bad_message", "binary messages are not supported; send JSON text");
      // After bye nothing reaches the session; say so at once, before the socket closes.
      if (this.ended) return this.error("no_session", "the session has ended; open a new socket");
      const parsed = parseClientMessage(data.toString());
      if (parsed.ok && (parsed.message.type === "bye" || (parsed.message.type === "leave" && this.call?.joined))) this.ended = true;
      this.queue = this.queue.then(() => this.onMessage(parsed));
    });
    socket.on("close", () => {
      this.ended = true;
      this.call?.leave("socket_closed");
      void this.session.close("socket_closed");
    });
    socket.on("error", (err) => this.session.log.warn({ err }, "websocket error"));
  }

  private newSession(connectTimer = true): Session {
    const session = this.registry.create();
    if (connectTimer) session.startConnectTimer();
    session.on("candidate", (candidate) => this.send({ type: "candidate", candidate }));
    // A file name relative to the recordings directory: clients never see server paths.
    session.on("recording", (r) =>
      this.send({ type: "recording", ...r, file: path.basename(r.file), ...(r.error ? { error: withoutDir(r.error, r.file) } : {}) }),
    );
    session.once("closed", (reason) => {
      if (this.session !== session || this.dropped === session || this.ended) return;
      // A call participant need not publish: its socket stays for the call (a fresh session waits for an offer).
      if (reason === "connect_timeout" && this.phase === "none" && this.call?.joined && !this.registry.isFull) {
        this.session = this.newSession(false);
        return;
      }
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
    if (this.limited || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify(message));
    // What the kernel would not take stays in this process: a client that does not read must not grow it.
    if (this.socket.bufferedAmount > this.config.wsMaxBufferedBytes) {
      this.cutOff(CloseCodes.slowConsumer, "slow_consumer", `more than ${this.config.wsMaxBufferedBytes} bytes unread`);
    }
  }

  /**
   * Ends a socket that floods recbot or does not read: the session is closed (its recordings finalized), the
   * client told why (close code and reason; an `error` message too if it still reads), and the connection cut
   * if it does not finish the closing handshake in time.
   */
  private cutOff(code: number, reason: "rate_limited" | "slow_consumer", detail: string): void {
    if (this.limited) return;
    if (code !== CloseCodes.slowConsumer) this.error(reason, `${detail}; closing`);
    this.limited = true;
    this.ended = true;
    this.session.log.warn({ reason, detail }, "websocket cut off");
    void this.session.close(reason);
    this.socket.close(code, reason);
    this.socket.pause(); // read no more of the flood; the close frame still goes out
    setTimeout(() => this.socket.terminate(), TERMINATE_AFTER_MS).unref();
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
      // Closed first, so its slot under maxSessions is free for the fresh session a corrected offer needs
      // (unless the socket is already gone: nothing would close that one). Dropped first, so its closing does
      // not end the socket.
      this.dropped = session;
      await session.close("offer_failed");
      if (this.socket.readyState === this.socket.OPEN) {
        try {
          this.session = this.newSession();
        } catch (tooMany) {
          // Another client took the slot meanwhile: this socket cannot go on.
          if (!(tooMany instanceof TooManySessionsError)) throw tooMany;
          this.error(tooMany.code, tooMany.message);
          this.ended = true;
          this.socket.close(CloseCodes.tryAgainLater, "too many sessions");
        }
      }
      throw err;
    }
  }

  private async handle(message: ClientMessage): Promise<void> {
    switch (message.type) {
      case "offer": {
        if (this.phase !== "none") return this.error("duplicate_offer", "an offer was already exchanged on this socket");
        return this.exchange("done", async (session) => {
          this.call?.publishing(session);
          const sdp = await session.acceptOffer(message.sdp, { echo: message.mode === "echo" });
          this.send({ type: "answer", sdp, sessionId: session.id });
        });
      }
      case "call": {
        if (this.phase !== "none") return this.error("duplicate_offer", "an offer was already exchanged on this socket");
        if ((message.audio ?? 1) + (message.video ?? 1) === 0) return this.error("bad_message", "a call needs at least one audio or video transceiver");
        return this.exchange("call", async (session) => {
          this.call?.publishing(session);
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
      case "join":
      case "signal":
        return this.call!.handle(message);
      case "leave": {
        if (!this.call!.joined) return this.error("not_joined", "this socket is not in a call");
        this.call!.handle(message);
        await this.session.close("left_call");
        this.socket.close(CloseCodes.normal, "left");
        return;
      }
      case "bye": {
        await this.session.close("bye");
        this.socket.close(CloseCodes.normal, "bye");
        return;
      }
    }
  }
}
