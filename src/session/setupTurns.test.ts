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
  it("with no budget, lets one waiting caller go per turn, in arrival order", async () => {
    const loop = manual();
    const turns = new Turns(loop.schedule, { budgetMs: 0 });
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

  it("runs steps in one turn until the budget is spent, then goes on in the next turn", async () => {
    const loop = manual();
    let clock = 0;
    const turns = new Turns(loop.schedule, { now: () => clock, budgetMs: 4 });
    const order: number[] = [];
    // Each step takes 1.5 ms: steps starting at 0, 1.5 and 3 ms fit a 4 ms budget, the fourth waits for the next turn.
    for (let i = 0; i < 5; i++) void turns.next().then(() => { order.push(i); clock += 1.5; });
    await loop.turn();
    expect(order).toEqual([0, 1, 2]);
    expect(loop.scheduled).toBe(1);
    await loop.turn();
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(loop.scheduled).toBe(0);
    expect(turns.pending).toBe(0);
  });

  it("a step asking for its next turn queues behind those already waiting, in the same turn if the budget allows", async () => {
    const loop = manual();
    let clock = 0;
    const turns = new Turns(loop.schedule, { now: () => clock, budgetMs: 10 });
    const order: string[] = [];
    const session = async (name: string) => {
      await turns.next();
      order.push(`${name}1`);
      clock += 2;
      await turns.next();
      order.push(`${name}2`);
      clock += 2;
    };
    void session("a");
    void session("b");
    await loop.turn();
    // a1 b1 a2 b2 all fit in 10 ms; no second callback was scheduled meanwhile.
    expect(order).toEqual(["a1", "b1", "a2", "b2"]);
    expect(loop.scheduled).toBe(0);
  });

  it("a caller arriving after a turn ended queues behind those already waiting", async () => {
    const loop = manual();
    const turns = new Turns(loop.schedule, { budgetMs: 0 });
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
