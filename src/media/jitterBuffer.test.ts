import fc from "fast-check";
import { RtpHeader, RtpPacket } from "werift";
import { describe, expect, it } from "vitest";
import { HeldPackets, JitterBuffer } from "./jitterBuffer.ts";

function packet(seq: number, timestamp = seq * 3000): RtpPacket {
  return new RtpPacket(new RtpHeader({ sequenceNumber: seq & 0xffff, timestamp: timestamp >>> 0, payloadType: 96 }), Buffer.from([seq & 0xff]));
}

interface Step {
  /** Sequence number to push (pushed at time `at`), or undefined for a poll only. */
  seq?: number;
  at: number;
}

/** Feeds pushes/polls like the pipeline does (pop until nothing, after every step), then drains. */
function run(steps: Step[], options = { maxDelayMs: 100, capacity: 64 }) {
  const jb = new JitterBuffer(options);
  const out: { seq: number; gap: number; ts: number }[] = [];
  const collect = (p: RtpPacket | undefined) => {
    if (p) out.push({ seq: p.header.sequenceNumber, gap: jb.gapBefore, ts: p.header.timestamp });
    return p;
  };
  for (const s of steps) {
    if (s.seq !== undefined) jb.push(packet(s.seq), s.at);
    while (collect(jb.pop(s.at)));
  }
  while (collect(jb.drain()));
  return { out, stats: jb.stats, size: jb.size };
}

const at = (seqs: number[], t = 0) => seqs.map((seq) => ({ seq, at: t }));

describe("JitterBuffer", () => {
  it.each([
    { name: "in-order packets pass straight through", steps: at([1, 2, 3]), seqs: [1, 2, 3], gaps: [0, 0, 0] },
    { name: "a reordered packet is put back in place", steps: at([1, 3, 2, 4]), seqs: [1, 2, 3, 4], gaps: [0, 0, 0, 0] },
    { name: "a duplicate of a held packet is dropped and counted", steps: at([1, 3, 3, 2]), seqs: [1, 2, 3], gaps: [0, 0, 0], duplicates: 1 },
    { name: "a duplicate of an already released packet counts as late", steps: at([1, 2, 1, 3]), seqs: [1, 2, 3], gaps: [0, 0, 0], late: 1 },
    { name: "sequence numbers wrap from 65535 to 0 in order", steps: at([65534, 65535, 0, 1]), seqs: [65534, 65535, 0, 1], gaps: [0, 0, 0, 0] },
    { name: "a packet reordered across the wrap is put back in place", steps: at([65534, 0, 65535, 1]), seqs: [65534, 65535, 0, 1], gaps: [0, 0, 0, 0] },
    {
      name: "a gap is given up after maxDelay and reported with the next packet",
      steps: [{ seq: 1, at: 0 }, { seq: 3, at: 10 }, { at: 50 }, { seq: 4, at: 200 }],
      seqs: [1, 3, 4], gaps: [0, 1, 0], lost: 1,
    },
    {
      name: "a packet that arrives after its gap was given up is late and dropped",
      steps: [{ seq: 1, at: 0 }, { seq: 4, at: 10 }, { at: 500 }, { seq: 2, at: 510 }, { seq: 5, at: 520 }],
      seqs: [1, 4, 5], gaps: [0, 2, 0], lost: 2, late: 1,
    },
    {
      name: "a late packet within maxDelay still fills its gap",
      steps: [{ seq: 1, at: 0 }, { seq: 3, at: 10 }, { seq: 2, at: 90 }],
      seqs: [1, 2, 3], gaps: [0, 0, 0],
    },
    {
      name: "capacity overflow skips the gap at once",
      steps: [{ seq: 1, at: 0 }, ...at([3, 4, 5, 6], 1)],
      options: { maxDelayMs: 10_000, capacity: 4 },
      seqs: [1, 3, 4, 5, 6], gaps: [0, 1, 0, 0, 0], lost: 1,
    },
    {
      name: "a jump forward waits, then continues after the gap",
      steps: [{ seq: 10, at: 0 }, { seq: 5000, at: 1 }, { seq: 5001, at: 300 }],
      seqs: [10, 5000, 5001], gaps: [0, 4989, 0], lost: 4989,
    },
    {
      name: "two packets far behind are a new numbering, followed with a discontinuity",
      steps: at([30000, 30001, 100, 101, 102]),
      seqs: [30000, 30001, 101, 102], gaps: [0, 0, 1, 0], late: 1,
    },
    { name: "one stray packet far behind is dropped", steps: at([30000, 100, 30001]), seqs: [30000, 30001], gaps: [0, 0], late: 1 },
    { name: "drain releases held packets in order across gaps", steps: [{ seq: 1, at: 0 }, { seq: 4, at: 0 }, { seq: 3, at: 0 }], seqs: [1, 3, 4], gaps: [0, 1, 0], lost: 1 },
  ])("$name", ({ steps, seqs, gaps, options, lost = 0, late = 0, duplicates = 0 }) => {
    const r = run(steps, options);
    expect(r.out.map((o) => o.seq)).toEqual(seqs);
    expect(r.out.map((o) => o.gap)).toEqual(gaps);
    expect(r.stats).toMatchObject({ lost, late, duplicates });
    expect(r.size).toBe(0);
  });

  it("keeps RTP timestamps untouched across their 32-bit wrap", () => {
    const jb = new JitterBuffer({ maxDelayMs: 100, capacity: 64 });
    const stamps = [0xffffe890, 0xfffff448, 0x00000000, 0x00000bb8];
    jb.push(packet(11, stamps[1]), 0);
    jb.push(packet(10, stamps[0]), 0); // too late: 10 < first packet
    jb.push(packet(13, stamps[3]), 0);
    jb.push(packet(12, stamps[2]), 0);
    const out: number[] = [];
    for (let p = jb.drain(); p; p = jb.drain()) out.push(p.header.timestamp);
    expect(out).toEqual([stamps[1], stamps[2], stamps[3]]);
  });

  it("never throws and never holds more than its capacity, whatever arrives", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ seq: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }), dt: fc.integer({ min: 0, max: 300 }) }), { maxLength: 300 }),
        (raw) => {
          let t = 0;
          const steps = raw.map((s) => ({ seq: s.seq, at: (t += s.dt) }));
          const jb = new JitterBuffer({ maxDelayMs: 100, capacity: 16 });
          for (const s of steps) {
            if (s.seq !== undefined) jb.push(packet(s.seq), s.at);
            while (jb.pop(s.at));
            expect(jb.size).toBeLessThanOrEqual(16);
          }
          while (jb.drain());
          expect(jb.size).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("emits packets strictly in (unwrapped) sequence order, each at most once, under reordering, loss and duplication", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        // A sender's stream as offsets from the start, then shuffled locally, duplicated and thinned.
        fc.array(fc.record({ jitter: fc.integer({ min: -20, max: 20 }), drop: fc.boolean(), dup: fc.boolean(), dt: fc.integer({ min: 0, max: 60 }) }), { maxLength: 400 }),
        (start, plan) => {
          const arrivals = plan
            .map((p, i) => ({ ...p, i, order: i + p.jitter }))
            .filter((p) => !p.drop)
            .sort((a, b) => a.order - b.order)
            .flatMap((p) => (p.dup ? [p, p] : [p]));
          let t = 0;
          const steps = arrivals.map((p) => ({ seq: (start + p.i) & 0xffff, at: (t += p.dt) }));
          const { out } = run(steps, { maxDelayMs: 100, capacity: 64 });
          let last = -1;
          for (const o of out) {
            const index = (o.seq - start) & 0xffff; // position in the sender's stream
            expect(index).toBeGreaterThan(last);
            last = index;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("gives up a gap at once when the packets held pass maxBytes", () => {
    const jb = new JitterBuffer({ maxDelayMs: 10_000, capacity: 1000, maxBytes: 5000 });
    const big = (seq: number) => new RtpPacket(new RtpHeader({ sequenceNumber: seq, timestamp: seq * 3000, payloadType: 96 }), Buffer.alloc(1000));
    jb.push(big(1), 0);
    expect(jb.pop(0)?.header.sequenceNumber).toBe(1);
    for (let seq = 3; seq <= 6; seq++) jb.push(big(seq), 0); // 2 is missing: 4000 bytes held, still waiting
    expect(jb.pop(0)).toBeUndefined();
    jb.push(big(7), 0); // 5000 bytes: full
    expect(jb.pop(0)?.header.sequenceNumber).toBe(3);
    expect(jb.gapBefore).toBe(1);
    expect(jb.bytes).toBe(4000);
  });
});


describe("HeldPackets (the jitter buffer's ring)", () => {
  it("holds and gives back exactly what a Map would, also for keys that collide in the ring or jump far ahead", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ op: fc.constantFrom("set", "set", "take", "lowest", "highest"), delta: fc.integer({ min: 0, max: 300 }), far: fc.boolean() }), { maxLength: 400 }),
        (ops) => {
          const held = new HeldPackets(8); // a 16-slot ring: collisions are frequent
          const model = new Map<number, { packet: RtpPacket; arrivalMs: number }>();
          let base = 0x10000;
          ops.forEach(({ op, delta, far }, i) => {
            const key = base + (far ? delta * 97 : delta % 20);
            if (op === "set" && !model.has(key)) {
              const p = packet(key);
              held.set(key, p, i);
              model.set(key, { packet: p, arrivalMs: i });
            } else if (op === "take") {
              const got = held.take(key);
              expect(got).toBe(model.get(key)?.packet);
              if (got) expect(held.takenArrivalMs).toBe(model.get(key)!.arrivalMs);
              model.delete(key);
            } else if (op === "lowest" && model.size) {
              const keys = [...model.keys()];
              const from = Math.min(...keys) - (delta % 5);
              expect(held.lowest(from)).toBe(Math.min(...keys));
            } else if (op === "highest" && model.size) {
              expect(held.highest()).toBe(Math.max(...model.keys()));
            }
            for (const k of [key, key + 1, base]) expect(held.has(k)).toBe(model.has(k));
            expect(held.size).toBe(model.size);
            if (i % 50 === 49) base += 16;
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
