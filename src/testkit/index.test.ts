import { describe, expect, it } from "vitest";

describe("recbot/testkit", () => {
  it("resolves through package.json exports and offers the kit", async () => {
    const kit = await import("recbot/testkit");
    for (const name of ["makeClip", "readClip", "sendClip", "clientPeer", "publish", "publishWhip", "WsClient", "probe", "decodeErrors", "measureAvSync", "EchoMeter", "flashSignal"]) {
      expect(typeof (kit as Record<string, unknown>)[name], name).toBe("function");
    }
  });
});
