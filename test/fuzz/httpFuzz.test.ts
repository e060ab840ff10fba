import fc from "fast-check";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { loopbackOffer } from "../../src/testkit/peer.ts";

const scale = Number(process.env.FUZZ_SCALE ?? 1);
const RUNS = 5000 * scale;

let recbot: Recbot;
let offer: string;
beforeAll(async () => {
  recbot = await createRecbot({
    host: "127.0.0.1", port: 0, recordingsDir: mkdtempSync(path.join(tmpdir(), "recbot-httpfuzz-")),
    iceAddresses: ["127.0.0.1"], logLevel: "silent", rateLimitPerMinute: 1_000_000,
  });
  await recbot.app.ready();
  offer = await loopbackOffer();
});
afterAll(async () => {
  await recbot?.close();
});

const contentType = fc.constantFrom("application/sdp", "application/trickle-ice-sdpfrag", "application/json", "text/plain", "application/sdp; charset=utf-8", "", "multipart/form-data; boundary=x");
const body = fc.oneof(
  fc.string({ maxLength: 500 }),
  fc.json(),
  fc.nat(4000).map((n) => ({ truncatedOffer: n })), // the offer exists only once beforeAll ran
  fc.constantFrom("a=ice-ufrag:x\r\na=ice-pwd:y\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n", "a=end-of-candidates\r\n"),
);
const id = fc.oneof(fc.string({ maxLength: 40 }), fc.uuid(), fc.constantFrom("..%2F..%2Fetc%2Fpasswd", "rec_x", "%00", "rec_%2e%2e"));

describe("fuzzing the HTTP API", () => {
  it(`${RUNS} random requests to WHIP and the recordings API: every reply is a 2xx/4xx with a message, never a 5xx`, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ method: fc.constant("POST" as const), url: fc.constantFrom("/whip", "/whip?mode=echo", "/whip?mode=bogus"), type: contentType, body }),
          fc.record({ method: fc.constant("PATCH" as const), url: id.map((i) => `/whip/${encodeURIComponent(i)}`), type: contentType, body }),
          fc.record({ method: fc.constantFrom("GET" as const, "DELETE" as const), url: id.map((i) => `/recordings/${i}`), type: fc.constant(""), body: fc.constant("") }),
          fc.record({ method: fc.constant("GET" as const), url: fc.string({ maxLength: 60 }).map((q) => `/recordings?${q}`), type: fc.constant(""), body: fc.constant("") }),
        ),
        async ({ method, url, type, body: raw }) => {
          const body = typeof raw === "object" && raw !== null && "truncatedOffer" in raw ? offer.slice(0, raw.truncatedOffer as number) : raw;
          const payload = typeof body === "string" ? body || undefined : JSON.stringify(body);
          const res = await recbot.app.inject({ method, url, headers: type ? { "content-type": type } : {}, payload });
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          expect(res.statusCode, `${method} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`).toBeLessThan(500);
          if (res.statusCode >= 400) expect(res.body.length).toBeGreaterThan(10);
          if (res.statusCode === 201) {
            // A truncated offer that is still valid: end the session it made.
            expect((await recbot.app.inject({ method: "DELETE", url: res.headers.location as string })).statusCode).toBeLessThan(300);
          }
        },
      ),
      { numRuns: RUNS },
    );
    const health = await recbot.app.inject({ method: "GET", url: "/healthz" });
    expect(JSON.parse(health.body).sessions).toBe(0);
  }, 300_000);
});
