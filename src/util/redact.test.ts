import { describe, expect, it } from "vitest";
import { redact, redactingSerializers } from "./redact.ts";

describe("redact", () => {
  it.each([
    ["/ws?access_token=secret-token-0123456789", "/ws?access_token=[redacted]"],
    ["/recordings/rec_1/file?x=1&access_token=1893456000.AbC-_x&y=2", "/recordings/rec_1/file?x=1&access_token=[redacted]&y=2"],
    ["/whip?ACCESS_TOKEN=abc", "/whip?ACCESS_TOKEN=[redacted]"],
    ["https://hooks.example/in?token=t0k&sig=abc#frag", "https://hooks.example/in?token=[redacted]&sig=[redacted]#frag"],
    ["https://user:pass@hooks.example/in", "https://[redacted]@hooks.example/in"],
    ["authorization: Bearer abc.def-123", "authorization: Bearer [redacted]"],
    ["Basic dXNlcjpwYXNz", "Basic [redacted]"],
  ])("%s → %s", (text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it("leaves text without credentials as it is", () => {
    for (const text of ["/recordings?limit=10&offset=0", "/ws", "GET /healthz", "connection state connected"]) expect(redact(text)).toBe(text);
  });

  it("serializes a request without its token and an error without the URL's token", () => {
    expect(redactingSerializers.req({ method: "GET", url: "/ws?access_token=t", ip: "127.0.0.1" })).toMatchObject({ url: "/ws?access_token=[redacted]" });
    const err = Object.assign(new Error("fetch failed for http://h/x?token=abc"), { url: "http://h/x?token=abc" });
    const out = redactingSerializers.err(err) as Record<string, string>;
    expect(JSON.stringify(out)).not.toContain("abc");
    expect(out.message).toBe("fetch failed for http://h/x?token=[redacted]");
  });
});
