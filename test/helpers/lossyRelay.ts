import { createSocket, type Socket } from "node:dgram";

export interface LossyRelayOptions {
  /** Share of media packets (RTP/RTCP) dropped, each direction. */
  dropRate: number;
  /** Seed of the drop decisions, so a run can be repeated. */
  seed?: number;
  /** Drop every media packet in this window, in ms after the first media packet (a burst outage). */
  outage?: [number, number];
  /**
   * Deliver recbot's first DTLS ClientHello to the publisher twice, as when recbot's event loop was busy for more
   * than 500 ms and it retransmitted: the publisher (DTLS server) answers each with a HelloVerifyRequest.
   */
  repeatClientHello?: boolean;
  /**
   * Hold the publisher's first `ms` of RTP with this payload type, then deliver it in one burst, while other RTP
   * and all RTCP (sender reports included) pass on time: recbot sees its first frame late, as under load.
   */
  holdFirst?: { payloadType: number; ms: number };
}

/** Small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A UDP relay on 127.0.0.1 between a publisher and recbot that drops a share of media packets.
 * The publisher talks to `publisherSide`, recbot to `recbotSide`; ICE candidates are rewritten with
 * `mapCandidate` so each peer sees the relay as the other. Only RTP/RTCP (first byte 128–191, RFC 7983) is
 * dropped: STUN and DTLS pass, so the connection itself comes up reliably and loss hits media and feedback.
 */
export class LossyRelay {
  readonly stats = { toRecbot: { forwarded: 0, dropped: 0 }, toPublisher: { forwarded: 0, dropped: 0 }, clientHelloRepeated: 0, held: 0 };
  private readonly publisherSide: Socket = createSocket("udp4");
  private readonly recbotSide: Socket = createSocket("udp4");
  private publisherAddress: { port: number } | undefined;
  private recbotPort = 0;
  private readonly drop: () => boolean;
  private readonly outage: [number, number] | undefined;
  private firstMediaMs = -1;
  private readonly repeatClientHello: boolean;
  private readonly holdFirst: LossyRelayOptions["holdFirst"];
  /** Packets held by `holdFirst` until its time is up (undefined once released). */
  private heldPackets: Buffer[] | undefined = [];

  constructor(options: LossyRelayOptions) {
    this.repeatClientHello = options.repeatClientHello ?? false;
    const next = random(options.seed ?? 1);
    this.drop = () => next() < options.dropRate;
    this.outage = options.outage;
    this.holdFirst = options.holdFirst;
    this.publisherSide.on("message", (msg, from) => {
      this.publisherAddress = { port: from.port };
      if (!this.recbotPort) return;
      if (this.hold(msg)) return;
      this.forward(msg, this.recbotSide, this.recbotPort, this.stats.toRecbot);
    });
    this.recbotSide.on("message", (msg) => {
      if (!this.publisherAddress) return;
      this.forward(msg, this.publisherSide, this.publisherAddress.port, this.stats.toPublisher);
      // A DTLS record (content type 22, handshake) holding a ClientHello (handshake type 1): the first one only.
      if (this.repeatClientHello && this.stats.clientHelloRepeated === 0 && msg.length > 13 && msg[0] === 22 && msg[13] === 1) {
        this.stats.clientHelloRepeated++;
        // Right behind the first, so both reach the server before recbot's second ClientHello (with the cookie):
        // a late copy would instead hit werift's server mid-handshake, a different werift bug (see docs/bench.md).
        this.publisherSide.send(msg, this.publisherAddress.port, "127.0.0.1");
      }
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.publisherSide, this.recbotSide].map((s) => new Promise<void>((r) => s.bind(0, "127.0.0.1", r))));
  }

  /** True when `msg` is RTP of the held payload type and is kept back (see `holdFirst`). */
  private hold(msg: Buffer): boolean {
    if (!this.holdFirst || !this.heldPackets) return false;
    // RTP (first byte 128–191, RFC 7983) and not RTCP (packet types 192–223 in the second byte, RFC 5761).
    const rtp = msg.length > 12 && msg[0] >= 128 && msg[0] <= 191 && !(msg[1] >= 192 && msg[1] <= 223);
    if (!rtp || (msg[1] & 0x7f) !== this.holdFirst.payloadType) return false;
    if (this.heldPackets.length === 0) {
      setTimeout(() => {
        for (const m of this.heldPackets!) this.forward(m, this.recbotSide, this.recbotPort, this.stats.toRecbot);
        this.heldPackets = undefined;
      }, this.holdFirst.ms);
    }
    this.stats.held++;
    this.heldPackets.push(msg);
    return true;
  }

  private forward(msg: Buffer, via: Socket, port: number, stats: { forwarded: number; dropped: number }): void {
    const media = msg.length > 0 && msg[0] >= 128 && msg[0] <= 191;
    if (media && this.firstMediaMs < 0) this.firstMediaMs = performance.now();
    const since = performance.now() - this.firstMediaMs;
    const inOutage = this.outage !== undefined && since >= this.outage[0] && since < this.outage[1];
    if (media && (inOutage || this.drop())) {
      stats.dropped++;
      return;
    }
    stats.forwarded++;
    via.send(msg, port, "127.0.0.1");
  }

  /** For `publish({ mapCandidate })`: each side is told the relay's address instead of the other peer's. */
  readonly mapCandidate = (direction: "toRecbot" | "fromRecbot", candidate: string): string => {
    const parts = candidate.split(" ");
    if (parts.length < 6 || parts[2].toLowerCase() !== "udp") return candidate;
    if (direction === "fromRecbot") {
      this.recbotPort = Number(parts[5]);
      parts[5] = String(this.publisherSide.address().port);
    } else {
      parts[5] = String(this.recbotSide.address().port);
    }
    return parts.join(" ");
  };

  close(): void {
    this.publisherSide.close();
    this.recbotSide.close();
  }
}
