import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseClientMessage } from "./wsMessages.ts";

describe("parseClientMessage", () => {
  it.each([
    ['{"type":"offer","sdp":"v=0"}', "offer"],
    ['{"type":"candidate","candidate":null}', "candidate"],
    ['{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}', "candidate"],
    ['{"type":"bye"}', "bye"],
  ])("accepts %s", (text, type) => {
    const r = parseClientMessage(text);
    expect(r.ok && r.message.type).toBe(type);
  });

  it.each([
    ["", "bad_json"],
    ["null", "bad_message"],
    ['"offer"', "bad_message"],
    ['{"type":7}', "bad_message"],
    ['{"type":"__proto__"}', "unknown_type"],
    ['{"type":"toString"}', "unknown_type"],
    ['{"type":"offer","sdp":""}', "bad_message"],
    ['{"type":"candidate","candidate":{"candidate":"x","sdpMLineIndex":-1}}', "bad_message"],
  ])("rejects %j with %s", (text, code) => {
    const r = parseClientMessage(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(code);
  });

  it("never throws, whatever the text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ type: "offer", sdp: v }))), (text) => {
        const r = parseClientMessage(text);
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
  });
});
