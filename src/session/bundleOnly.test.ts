import { describe, expect, it } from "vitest";
import { acceptBundleOnly } from "./bundleOnly.ts";

const offer = (audioPort: number, bundleOnly: boolean) =>
  ["v=0", "s=-", "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:v", `m=audio ${audioPort} UDP/TLS/RTP/SAVPF 111`, ...(bundleOnly ? ["a=bundle-only"] : []), "a=mid:a", ""].join("\r\n");

describe("acceptBundleOnly", () => {
  it("gives bundle-only sections with port 0 the placeholder port 9", () => {
    expect(acceptBundleOnly(offer(0, true))).toBe(offer(9, true).replace("m=audio 9", "m=audio 9"));
  });
  it("leaves a section rejected with port 0 and no bundle-only alone", () => {
    expect(acceptBundleOnly(offer(0, false))).toBe(offer(0, false));
  });
  it("leaves normal offers byte for byte", () => {
    expect(acceptBundleOnly(offer(9, false))).toBe(offer(9, false));
  });
});
