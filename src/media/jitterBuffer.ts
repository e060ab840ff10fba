import type { RtpPacket } from "werift";

export interface JitterBufferOptions {
  /** How long a gap may hold back later packets before it is declared lost. */
  maxDelayMs: number;
  /** Packets held at most; beyond it the oldest gap is skipped at once. */
  capacity: number;
}

interface Slot {
  packet: RtpPacket;
  arrivalMs: number;
}

/**
 * Puts RTP packets of one SSRC back in sequence order within a bounded delay (Pion's samplebuilder
 * Push/Pop shape). `push` stores, `pop` returns the next in-order packet or undefined; after a
 * pop, `gapBefore` tells how many sequence numbers were given up right before that packet.
 * Sequence numbers are unwrapped to a 64-bit-safe counter, so wrap-around is invisible here.
 */
export class JitterBuffer {
  readonly stats = { late: 0, duplicates: 0, lost: 0 };
  /** Sequence numbers skipped immediately before the packet returned by the last `pop`. */
  gapBefore = 0;

  private readonly slots = new Map<number, Slot>();
  private highest = -1;
  private next = -1;
  private waitingSinceMs = -1;

  private readonly options: JitterBufferOptions;

  constructor(options: JitterBufferOptions) {
    this.options = options;
  }

  get size(): number {
    return this.slots.size;
  }

  /** Unwraps a 16-bit sequence number against the highest seen so far. */
  private extend(seq: number): number {
    if (this.highest < 0) return seq + 0x10000; // start one cycle up so early wrap-backs stay positive
    const delta = ((seq - this.highest) << 16) >> 16; // signed 16-bit distance
    return this.highest + delta;
  }

  push(packet: RtpPacket, nowMs: number): void {
    const ext = this.extend(packet.header.sequenceNumber);
    if (this.next < 0) this.next = ext;
    if (ext < this.next) {
      this.stats.late++;
      return;
    }
    if (this.slots.has(ext)) {
      this.stats.duplicates++;
      return;
    }
    if (ext > this.highest) this.highest = ext;
    this.slots.set(ext, { packet, arrivalMs: nowMs });
  }

  /** The next packet in order, or undefined if the next one is missing and still worth waiting for. */
  pop(nowMs: number): RtpPacket | undefined {
    if (this.slots.size === 0) return undefined;
    let slot = this.slots.get(this.next);
    let gap = 0;
    if (!slot) {
      if (this.waitingSinceMs < 0) this.waitingSinceMs = nowMs;
      const waited = nowMs - this.waitingSinceMs;
      if (waited < this.options.maxDelayMs && this.slots.size < this.options.capacity) return undefined;
      // Give up on the gap: jump to the lowest sequence number we hold.
      let lowest = Infinity;
      for (const key of this.slots.keys()) if (key < lowest) lowest = key;
      gap = lowest - this.next;
      this.stats.lost += gap;
      this.next = lowest;
      slot = this.slots.get(lowest)!;
    }
    this.slots.delete(this.next);
    this.next++;
    this.waitingSinceMs = -1;
    this.gapBefore = gap;
    return slot.packet;
  }

  /** Releases everything held, in order (end of stream). */
  drain(): RtpPacket | undefined {
    return this.pop(Infinity);
  }
}
