import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { signToken } from "../../src/signaling/auth.ts";
import { makeClip } from "../../src/testkit/clip.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { startRecbotProcess, type RecbotProcess } from "../helpers/recbotProcess.ts";

/** Issue 16 #8: no credential reaches the log, whatever the level and whichever way it came in. */

let recbot: RecbotProcess | undefined;
afterEach(async () => {
  await recbot?.stop();
  recbot = undefined;
});

const STATIC = "static-token-0123456789abcdef";
const SECRET = "auth-secret-0123456789abcdef";
const WRONG = "wrong-token-zyxwvutsrqp98765";
const HOOK_SECRET = "hook-query-secret-42424242";

describe("credentials in logs", () => {
  it("never logs tokens from URLs (plain and signed), Authorization headers or a webhook URL's query", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-redact-"));
    recbot = await startRecbotProcess({
      RECBOT_HOST: "127.0.0.1", RECBOT_PORT: "0", RECBOT_RECORDINGS_DIR: dir, RECBOT_ICE_ADDRESSES: "127.0.0.1",
      RECBOT_LOG_LEVEL: "debug", RECBOT_AUTH_TOKENS: STATIC, RECBOT_AUTH_SECRET: SECRET,
      // Nothing listens there: delivery fails and is logged, URL included.
      RECBOT_WEBHOOK_URL: `http://127.0.0.1:9/hook?token=${HOOK_SECRET}`,
    });
    const { url } = recbot;
    const signed = signToken(SECRET, Math.floor(Date.now() / 1000) + 600);
    expect((await fetch(`${url}/recordings?access_token=${STATIC}`)).status).toBe(200);
    expect((await fetch(`${url}/recordings?limit=5&access_token=${encodeURIComponent(signed)}`)).status).toBe(200);
    expect((await fetch(`${url}/recordings`, { headers: { authorization: `Bearer ${STATIC}` } })).status).toBe(200);
    expect((await fetch(`${url}/recordings?access_token=${WRONG}`)).status).toBe(403);
    expect((await fetch(`${url}/no-such-route?access_token=${STATIC}`)).status).toBe(404);
    const result = await publish({ url: `${url.replace("http", "ws")}/ws?access_token=${encodeURIComponent(signed)}`, clip: await makeClip({ seconds: 1 }) });
    expect(result.finished.state).toBe("finished");
    await new Promise((r) => setTimeout(r, 1500)); // a webhook attempt or two fail and are logged
    await recbot.stop();

    const text = recbot.logs.map((l) => JSON.stringify(l)).join("\n") + recbot.stderr();
    const requestUrls = recbot.logs.filter((l) => l.req?.url).map((l) => l.req.url as string);
    expect(requestUrls.filter((u) => u.includes("access_token=[redacted]")).length).toBeGreaterThanOrEqual(5);
    expect(recbot.logs.some((l) => l.msg === "webhook failed" && l.url === "http://127.0.0.1:9/hook?token=[redacted]")).toBe(true);
    for (const secret of [STATIC, signed, signed.split(".")[1], WRONG, HOOK_SECRET, SECRET]) {
      expect(text.includes(secret), `the log holds ${secret}`).toBe(false);
    }
  });
});
