import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { GC_FLAGS, slowSrtpRuntime } from "./nodeRuntime.ts";

describe("slowSrtpRuntime", () => {
  it("names the Node 24 releases whose Buffer-key ciphers are slow", () => {
    for (const v of ["24.18.0", "24.19.0", "24.21.0"]) expect(slowSrtpRuntime(v)).toMatch(new RegExp(`Node ${v.replace(/\./g, "\\.")} `));
  });
  it("is quiet for the releases measured fast", () => {
    for (const v of ["22.23.3", "24.11.1", "24.17.0", "26.10.0"]) expect(slowSrtpRuntime(v)).toBeUndefined();
  });
});

describe("tuneGc's V8 flags (docs/gc.md)", () => {
  it("are flags this Node's V8 knows, with the integer values it takes (an unknown flag would be ignored silently)", () => {
    const options = execFileSync(process.execPath, ["--v8-options"], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
    for (const flag of GC_FLAGS) {
      const [name] = flag.split("=");
      expect(options).toMatch(new RegExp(`^\\s+${name}\\b.*\\n\\s+type: int`, "m"));
    }
  });
});
