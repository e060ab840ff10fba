import { readFileSync } from "node:fs";
import { RTCPeerConnection } from "werift";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../config/loadConfig.ts";
import { iceOptions } from "./iceOptions.ts";
import { growReceiveBuffers } from "./socketBuffers.ts";

// A real werift peer: this breaks, as it should, if a werift upgrade moves its sockets.
describe("growReceiveBuffers", () => {
  it("reaches every UDP socket werift gathered on and grows it up to the kernel's cap", async () => {
    const pc = new RTCPeerConnection(iceOptions(resolveConfig({ iceAddresses: ["127.0.0.1"] }), "t"));
    try {
      pc.addTransceiver("audio", { direction: "recvonly" });
      await pc.setLocalDescription(await pc.createOffer());
      const rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
      // One socket per UDP candidate port werift announced.
      const ports = new Set([...pc.localDescription!.sdp.matchAll(/^a=candidate:\S+ \d+ udp \d+ \S+ (\d+) /gim)].map((m) => m[1]));
      const wanted = 1024 * 1024;
      const after = growReceiveBuffers(pc, wanted);
      expect(after.sockets).toBeGreaterThanOrEqual(1);
      expect(after.sockets).toBe(ports.size);
      expect(after.grantedBytes).toBe(Math.min(wanted, rmemMax));
    } finally {
      await pc.close();
    }
  });
});
