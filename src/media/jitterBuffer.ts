import type { RtpPacket } from "werift";

export interface JitterBufferOptions {
  /** How long a gap may hold back later packets before it is declared lost. */
  maxDelayMs: number;
  /** Packets held at most; beyond it the oldest gap is skipped at once. */
  capacity: number;
  /** Payload bytes held at most (packets can be up to 64 KB each); beyond it the oldest gap is skipped at once. */
  maxBytes?: number;
}

interface Slot {
  packet: RtpPacket;
  arrivalMs: number;
}

/**
 * A packet this far behind the next expected one is not a late packet but a new numbering (sender restart,
 * SSRC change); two such packets in a row make the buffer follow the new numbering.
 */
const RESYNC_DISTANCE = 1000;

/**
 * Puts RTP packets of one SSRC back in sequence order within a bounded delay (Pion's samplebuilder
 * Push/Pop shape). `push` stores, `pop` returns the next in-order packet or undefined; after a
 * pop, `gapBefore` tells how many sequence numbers were given up right before that packet (at least 1
 * across a renumbering, so consumers treat it as a discontinuity).
 * Sequence numbers are unwrapped to a counter that only grows, so wrap-around is invisible here.
 */
export class JitterBuffer {
  readonly stats = { late: 0, duplicates: 0, lost: 0, resyncs: 0 };
  /** Sequence numbers skipped immediately before the packet returned by the last `pop`. */
  gapBefore = 0;
  /** When the packet returned by the last `pop` arrived (its `push` time). */
  arrivalMs = 0;

  private readonly slots = new Map<number, Slot>();
  private heldBytes = 0;
  /** Highest unwrapped sequence number seen, in the sender's numbering (`rawHighest`) and in ours. */
  private rawHighest = -1;
  private offset = 0;
  private next = -1;
  private waitingSinceMs = -1;
  /** Raw sequence number of the last packet that was far behind (a renumbering candidate). */
  private farSeq = -1;
  /** Our number of the first packet after a renumbering: popping it reports a gap. */
  private discontinuityAt = -1;

  private readonly options: JitterBufferOptions;

  constructor(options: JitterBufferOptions) {
    this.options = options;
  }

  get size(): number {
    return this.slots.size;
  }

  /** Payload bytes held now. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Unwraps a 16-bit sequence number against the highest seen so far (sender's numbering). */
  private unwrap(seq: number): number {
    if (this.rawHighest < 0) return seq + 0x10000; // start one cycle up so early wrap-backs stay positive
    return this.rawHighest + (((seq - this.rawHighest) << 16) >> 16); // signed 16-bit distance
  }

  push(packet: RtpPacket, nowMs: number): void {
    const seq = packet.header.sequenceNumber;
    let raw = this.unwrap(seq);
    let ext = raw + this.offset;
    if (this.next < 0) this.next = ext;
    if (ext < this.next) {
      if (this.next - ext <= RESYNC_DISTANCE || !this.resync(seq)) {
        this.stats.late++;
        return;
      }
      // Follow the new numbering: this packet comes right after everything held.
      raw = seq + 0x10000;
      this.rawHighest = raw;
      const highest = this.slots.size ? Math.max(...this.slots.keys()) + 1 : this.next;
      this.offset = highest - raw;
      ext = highest;
      this.discontinuityAt = ext;
    } else {
      this.farSeq = -1;
    }
    if (this.slots.has(ext)) {
      this.stats.duplicates++;
      return;
    }
    if (raw > this.rawHighest) this.rawHighest = raw;
    this.slots.set(ext, { packet, arrivalMs: nowMs });
    this.heldBytes += packet.payload.length;
  }

  /** True on the second consecutive far-behind packet that continues the first one's numbering. */
  private resync(seq: number): boolean {
    const follows = this.farSeq >= 0 && seq === ((this.farSeq + 1) & 0xffff);
    this.farSeq = seq;
    if (follows) {
      this.farSeq = -1;
      this.stats.resyncs++;
    }
    return follows;
  }

  /** The next packet in order, or undefined if the next one is missing and still worth waiting for. */
  pop(nowMs: number): RtpPacket | undefined {
    if (this.slots.size === 0) return undefined;
    let slot = this.slots.get(this.next);
    let gap = 0;
    if (!slot) {
      if (this.waitingSinceMs < 0) this.waitingSinceMs = nowMs;
      const waited = nowMs - this.waitingSinceMs;
      const full = this.slots.size >= this.options.capacity || this.heldBytes >= (this.options.maxBytes ?? Infinity);
      if (waited < this.options.maxDelayMs && !full) return undefined;
      // Give up on the gap: jump to the lowest sequence number we hold.
      let lowest = Infinity;
      for (const key of this.slots.keys()) if (key < lowest) lowest = key;
      gap = lowest - this.next;
      this.stats.lost += gap;
      this.next = lowest;
      slot = this.slots.get(lowest)!;
    }
    if (this.next === this.discontinuityAt) {
      if (gap === 0) gap = 1;
      this.discontinuityAt = -1;
    }
    this.slots.delete(this.next);
    this.heldBytes -= slot.packet.payload.length;
    this.next++;
    this.waitingSinceMs = -1;
    this.gapBefore = gap;
    this.arrivalMs = slot.arrivalMs;
    return slot.packet;
  }

  /** Releases everything held, in order (end of stream). */
  drain(): RtpPacket | undefined {
    return this.pop(Infinity);
  }
}
