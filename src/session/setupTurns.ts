/**
 * Paces the CPU-heavy steps of session setup and teardown (werift parsing an SDP, building an answer, opening or
 * closing ICE sockets) to a few milliseconds of them per event-loop turn, in arrival order.
 *
 * Each step takes about a millisecond, but a burst of sessions (70 concurrent WHIP POSTs, then 70 DELETEs) ran all
 * of them in one turn: ~280 ms of CPU with no I/O polled in between, so media packets waited and `/healthz` took
 * that long (docs/soak.md). Between two turns libuv polls I/O and runs timers; a lone session waits one turn
 * (microseconds) per step. A turn runs steps until BUDGET_MS has passed, not just one: under load a turn of the
 * event loop takes tens of milliseconds, and at one step per turn 70 set-ups queued for seconds (docs/bench.md).
 */
const BUDGET_MS = 4;

export class Turns {
  private readonly waiting: (() => void)[] = [];
  private scheduled = false;
  private readonly schedule: (run: () => void) => void;
  private readonly now: () => number;
  private readonly budgetMs: number;

  /**
   * `schedule` runs its callback in a later turn of the event loop (setImmediate; a test may drive it by hand),
   * `now` is the clock the budget is measured with.
   */
  constructor(
    schedule: (run: () => void) => void = (run) => void setImmediate(run),
    { now = () => performance.now(), budgetMs = BUDGET_MS }: { now?: () => number; budgetMs?: number } = {},
  ) {
    this.schedule = schedule;
    this.now = now;
    this.budgetMs = budgetMs;
  }

  /** How many callers wait for their turn. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Resolves when it is the caller's turn, first come first served. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.kick();
    });
  }

  private kick(): void {
    if (this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    this.schedule(() => this.release(this.now()));
  }

  /**
   * Lets the next caller go; once its step has run (the microtask queued after its continuation's), the next one
   * goes too while the turn's budget lasts, else a later turn takes over. `scheduled` stays set meanwhile, so a
   * caller arriving during the turn (a step asking for its next turn) queues without scheduling another.
   */
  private release(turnStart: number): void {
    const resolve = this.waiting.shift();
    if (!resolve) {
      this.scheduled = false;
      return;
    }
    resolve();
    queueMicrotask(() => {
      if (this.now() - turnStart < this.budgetMs) return this.release(turnStart);
      this.scheduled = false;
      this.kick();
    });
  }
}

/** The turns of this thread (each session worker thread has its own). */
export const setupTurns = new Turns();
