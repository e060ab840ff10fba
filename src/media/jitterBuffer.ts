import type { RtpPacket } from "werift";

export interface JitterBufferOptions {
  /** How long a gap may hold back later packets before it is declared lost. */
  maxDelayMs: number;
  /** Packets held at most; beyond it the oldest gap is skipped at once. */
  capacity: number;
  /** Payload bytes held at most (packets can be up to 64 KB each); beyond it the oldest gap is skipped at once. */
  maxBytes?: number;
}

/**
 * The held packets by unwrapped sequence number, with their arrival times: a ring indexed by the number's low bits,
 * so holding and releasing a packet allocates nothing (this runs for every packet of every session), and a Map for
 * the rare number whose ring slot is taken by another (a jump ahead of more than the ring's length).
 */
export class HeldPackets {
  size = 0;
  /** Arrival time of the packet the last `take` returned. */
  takenArrivalMs = 0;
  private readonly mask: number;
  private readonly keys: Float64Array;
  private readonly packets: (RtpPacket | undefined)[];
  private readonly arrivals: Float64Array;
  private readonly spill = new Map<number, { packet: RtpPacket; arrivalMs: number }>();

  constructor(capacity: number) {
    const length = 2 ** Math.ceil(Math.log2(Math.max(16, 2 * capacity)));
    this.mask = length - 1;
    this.keys = new Float64Array(length).fill(-1);
    this.packets = new Array(length).fill(undefined);
    this.arrivals = new Float64Array(length);
  }

  has(key: number): boolean {
    return this.keys[key & this.mask] === key || (this.spill.size > 0 && this.spill.has(key));
  }

  set(key: number, packet: RtpPacket, arrivalMs: number): void {
    const i = key & this.mask;
    if (this.keys[i] === -1) {
      this.keys[i] = key;
      this.packets[i] = packet;
      this.arrivals[i] = arrivalMs;
    } else {
      this.spill.set(key, { packet, arrivalMs });
    }
    this.size++;
  }

  /** Removes and returns the packet held under `key` (its arrival in `takenArrivalMs`). */
  take(key: number): RtpPacket | undefined {
    const i = key & this.mask;
    if (this.keys[i] === key) {
      const packet = this.packets[i];
      this.keys[i] = -1;
      this.packets[i] = undefined;
      this.takenArrivalMs = this.arrivals[i];
      this.size--;
      return packet;
    }
    const spilled = this.spill.size > 0 ? this.spill.get(key) : undefined;
    if (!spilled) return undefined;
    this.spill.delete(key);
    this.takenArrivalMs = spilled.arrivalMs;
    this.size--;
    return spilled.packet;
  }

  /** The lowest key held, none being below `from` (when a gap is given up: scans up from the gap, usually a few). */
  lowest(from: number): number {
    let best = Infinity;
    for (let key = from, end = from + this.keys.length; key < end; key++) {
      if (this.keys[key & this.mask] === key) {
        best = key;
        break;
      }
    }
    if (best === Infinity) for (const key of this.keys) if (key !== -1 && key < best) best = key;
    for (const key of this.spill.keys()) if (key < best) best = key;
    return best;
  }

  /** The highest key held (when the sender's numbering changes). */
  highest(): number {
    let best = -Infinity;
    for (const key of this.keys) if (key > best) best = key;
    for (const key of this.spill.keys()) if (key > best) best = key;
    return best;
  }
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

  private readonly slots: HeldPackets;
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
    this.slots = new HeldPackets(options.capacity);
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
      const highest = this.slots.size ? this.slots.highest() + 1 : this.next;
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
    this.slots.set(ext, packet, nowMs);
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
    let packet = this.slots.take(this.next);
    let gap = 0;
    if (!packet) {
      if (this.waitingSinceMs < 0) this.waitingSinceMs = nowMs;
      const waited = nowMs - this.waitingSinceMs;
      const full = this.slots.size >= this.options.capacity || this.heldBytes >= (this.options.maxBytes ?? Infinity);
      if (waited < this.options.maxDelayMs && !full) return undefined;
      // Give up on the gap: jump to the lowest sequence number we hold.
      const lowest = this.slots.lowest(this.next);
      gap = lowest - this.next;
      this.stats.lost += gap;
      this.next = lowest;
      packet = this.slots.take(lowest)!;
    }
    if (this.next === this.discontinuityAt) {
      if (gap === 0) gap = 1;
      this.discontinuityAt = -1;
    }
    this.heldBytes -= packet.payload.length;
    this.next++;
    this.waitingSinceMs = -1;
    this.gapBefore = gap;
    this.arrivalMs = this.slots.takenArrivalMs;
    return packet;
  }

  /** Releases everything held, in order (end of stream). */
  drain(): RtpPacket | undefined {
    return this.pop(Infinity);
  }
}
