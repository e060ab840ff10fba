import { describe, expect, it } from "vitest";
import { slowSrtpRuntime } from "./nodeRuntime.ts";

describe("slowSrtpRuntime", () => {
  it("names the Node 24 releases whose Buffer-key ciphers are slow", () => {
    for (const v of ["24.18.0", "24.19.0", "24.21.0"]) expect(slowSrtpRuntime(v)).toMatch(new RegExp(`Node ${v.replace(/\./g, "\\.")} `));
  });
  it("is quiet for the releases measured fast", () => {
    for (const v of ["22.23.3", "24.11.1", "24.17.0", "26.10.0"]) expect(slowSrtpRuntime(v)).toBeUndefined();
  });
});
