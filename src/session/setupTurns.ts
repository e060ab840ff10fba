/**
 * Paces the CPU-heavy steps of session setup and teardown (werift parsing an SDP, building an answer, opening or
 * closing ICE sockets) to one step per event-loop turn, in arrival order.
 *
 * Each step takes about a millisecond, but a burst of sessions (70 concurrent WHIP POSTs, then 70 DELETEs) ran all
 * of them in one turn: ~280 ms of CPU with no I/O polled in between, so media packets waited and `/healthz` took
 * that long (docs/soak.md). Between two paced steps libuv polls I/O and runs timers; a lone session waits one turn
 * (microseconds) per step.
 */
export class Turns {
  private readonly waiting: (() => void)[] = [];
  private scheduled = false;
  private readonly schedule: (run: () => void) => void;

  /** `schedule` runs its callback in a later turn of the event loop (setImmediate; a test may drive it by hand). */
  constructor(schedule: (run: () => void) => void = (run) => void setImmediate(run)) {
    this.schedule = schedule;
  }

  /** How many callers wait for their turn. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Resolves when it is the caller's turn: one caller per scheduled callback, first come first served. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.kick();
    });
  }

  private kick(): void {
    if (this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.waiting.shift()!();
      this.kick();
    });
  }
}

/** The turns of this thread (each session worker thread has its own). */
export const setupTurns = new Turns();
