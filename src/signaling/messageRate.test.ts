import { describe, expect, it } from "vitest";
import { MessageRate } from "./messageRate.ts";

describe("MessageRate", () => {
  it("allows a burst, then the rate, and refuses beyond it", () => {
    const rate = new MessageRate(10, 20, 0);
    const burst = Array.from({ length: 25 }, () => rate.take(0)).filter(Boolean).length;
    expect(burst).toBe(20);
    // 1 s later: 10 more tokens, not 20.
    expect(Array.from({ length: 15 }, () => rate.take(1000)).filter(Boolean).length).toBe(10);
  });

  it("never stores more than the burst however long the sender was quiet", () => {
    const rate = new MessageRate(10, 5, 0);
    expect(Array.from({ length: 10 }, () => rate.take(3_600_000)).filter(Boolean).length).toBe(5);
  });
});
