import { MediaStreamTrack, RTCPeerConnection } from "werift";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/loadConfig.ts";
import { iceOptions } from "../../src/session/iceOptions.ts";

/**
 * werift 0.25 uses stun.l.google.com:19302 whenever it is given no STUN server, even with `iceServers: []`.
 * recbot's peers must never do that (privacy, and a 5 s wait for the answer where the lookup hangs).
 */
describe("werift peers built by iceOptions never fall back to a public STUN server", () => {
  it.each([
    ["no ICE servers", {}],
    ["loopback only", { iceAddresses: ["127.0.0.1"] }],
  ])("%s", async (_name, config) => {
    const pc = new RTCPeerConnection(iceOptions(resolveConfig(config), "probe"));
    try {
      pc.addTransceiver(new MediaStreamTrack({ kind: "audio" }), { direction: "sendonly" });
      await pc.setLocalDescription(await pc.createOffer());
      const stunServer = pc.iceTransports[0].connection.stunServer;
      expect(stunServer?.[0]).toBe("127.0.0.1");
      expect(stunServer?.[1]).toBe(0); // port 0: a send that fails locally, nothing leaves the machine
      expect(pc.localDescription!.sdp).not.toContain("typ srflx");
    } finally {
      await pc.close();
    }
  });
});
