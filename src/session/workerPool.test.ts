import { describe, expect, it } from "vitest";
import { resolveConfig } from "../config/loadConfig.ts";
import { portSlices } from "./workerPool.ts";

describe("portSlices", () => {
  it("gives each worker its own consecutive ports, the last one the remainder", () => {
    expect(portSlices([41000, 41999], 2)).toEqual([[41000, 41499], [41500, 41999]]);
    expect(portSlices([10000, 10010], 3)).toEqual([[10000, 10002], [10003, 10005], [10006, 10010]]);
    expect(portSlices([5000, 5001], 2)).toEqual([[5000, 5000], [5001, 5001]]);
  });
  it("refuses a range with fewer ports than workers, already in the config", () => {
    expect(() => portSlices([5000, 5001], 3)).toThrow(RangeError);
    expect(() => resolveConfig({ workers: 3, udpPortRange: [5000, 5001] })).toThrow(/each worker needs at least one port/);
    expect(resolveConfig({}).workers).toBe(1);
  });
});
