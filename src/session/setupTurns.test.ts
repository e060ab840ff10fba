import { describe, expect, it } from "vitest";
import { Turns } from "./setupTurns.ts";

/** A hand-driven scheduler: `turn()` runs what was scheduled for the next event-loop turn. */
function manual() {
  let queued: (() => void)[] = [];
  return {
    schedule: (run: () => void) => void queued.push(run),
    async turn() {
      const now = queued;
      queued = [];
      for (const run of now) run();
      await new Promise((r) => setTimeout(r, 0)); // let the resolved callers' continuations run
    },
    get scheduled() {
      return queued.length;
    },
  };
}

describe("Turns", () => {
  it("lets one waiting caller go per turn, in arrival order", async () => {
    const loop = manual();
    const turns = new Turns(loop.schedule);
    const order: number[] = [];
    for (let i = 0; i < 5; i++) void turns.next().then(() => order.push(i));
    expect(turns.pending).toBe(5);
    expect(loop.scheduled).toBe(1); // one callback at a time, not one per caller
    await loop.turn();
    expect(order).toEqual([0]);
    await loop.turn();
    await loop.turn();
    expect(order).toEqual([0, 1, 2]);
    expect(turns.pending).toBe(2);
    await loop.turn();
    await loop.turn();
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(loop.scheduled).toBe(0); // nothing left: nothing scheduled
  });

  it("a caller arriving later queues behind those already waiting", async () => {
    const loop = manual();
    const turns = new Turns(loop.schedule);
    const order: string[] = [];
    void turns.next().then(() => order.push("a"));
    void turns.next().then(() => order.push("b"));
    await loop.turn();
    void turns.next().then(() => order.push("c"));
    await loop.turn();
    await loop.turn();
    expect(order).toEqual(["a", "b", "c"]);
  });

  it("goes on by itself with the default scheduler (setImmediate)", async () => {
    const turns = new Turns();
    const done = await Promise.all([turns.next(), turns.next(), turns.next()].map((p, i) => p.then(() => i)));
    expect(done).toEqual([0, 1, 2]);
    expect(turns.pending).toBe(0);
  });
});
