import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { RTCPeerConnection, MediaStreamTrack } from "werift";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { turnCredentials, type IceServer } from "../../src/session/iceServers.ts";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { startCoturn, type Coturn } from "../helpers/coturn.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { weriftIceServers } from "../../src/session/iceOptions.ts";
import { serverGroup, TEST_LOG } from "../helpers/testServer.ts";
import { verifyRecording } from "../helpers/verifyRecording.ts";

const SECRET = "relay-test-secret";
const SECONDS = 3;

/** Candidate types in an SDP (a=candidate:... typ X). */
const candidateTypes = (sdp: string) => [...sdp.matchAll(/ typ (\w+)/g)].map((m) => m[1]);

describe("TURN relay through coturn (deploy/turnserver.conf on 127.0.0.1)", () => {
  let coturn: Coturn;
  let clip: Clip;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-relay-"));
  const { start: startRecbot, close: closeRecbots } = serverGroup("relay", { recordingsDir: dir, logLevel: TEST_LOG });

  beforeAll(async () => {
    // Lab overrides only: loopback peers are denied by the production config.
    coturn = await startCoturn({ ip: "127.0.0.1", secret: SECRET, extraArgs: ["--allow-loopback-peers", "--allowed-peer-ip=127.0.0.1"] });
    clip = await makeClip({ seconds: SECONDS });
  });
  afterAll(async () => {
    await closeRecbots();
    await coturn?.stop();
  });

  it("a werift client forced to relay publishes with credentials from GET /ice-servers", async () => {
    const { base, ws } = await startRecbot({ clientIceServers: [coturn.turnUrl], turnSecret: SECRET, turnTtlSeconds: 300 });
    const iceServers = (await (await fetch(`${base}/ice-servers`)).json()) as IceServer[];
    expect(iceServers).toHaveLength(1);
    expect(JSON.stringify(iceServers)).not.toContain(SECRET);

    const result = await publish({ url: ws, clip, peerConfig: { ...weriftIceServers(iceServers), iceTransportPolicy: "relay" } });
    expect(result.pair?.local.type).toBe("relay");
    expect(result.pair?.local.port).toBeGreaterThanOrEqual(49160); // from coturn's relay range
    expect(result.pair?.local.port).toBeLessThanOrEqual(49200);
    await verifyRecording(result, { dir });
  });

  it("recbot itself forced to relay (iceTransportPolicy relay) records a client that only has host candidates", async () => {
    const { ws } = await startRecbot({ iceServers: [coturn.turnUrl], turnSecret: SECRET, iceTransportPolicy: "relay" });
    const result = await publish({ url: ws, clip });
    // recbot offered only relay candidates, so the client's pair ends on recbot's relay address.
    expect(new Set(candidateTypes(result.answerSdp))).toEqual(new Set(["relay"]));
    expect(result.pair?.remote.type).toBe("relay");
    expect(result.pair?.local.type).toBe("host");
    await verifyRecording(result, { dir });
  });

  /** What a werift peer gathers with these TURN credentials and relay-only policy. */
  async function gatherRelay(username: string, credential: string): Promise<string[]> {
    const pc = new RTCPeerConnection({
      iceServers: [{ urls: coturn.turnUrl, username, credential }],
      iceTransportPolicy: "relay",
      iceUseIpv4: false, iceUseIpv6: false,
      iceTurnConnectTimeout: 1, // a refusal is an immediate 401; keep werift's UDP→TCP retry short
    });
    try {
      pc.addTransceiver(new MediaStreamTrack({ kind: "audio" }), { direction: "sendonly" });
      await pc.setLocalDescription(await pc.createOffer()); // waits for gathering, TURN allocation included
      return candidateTypes(pc.localDescription!.sdp);
    } finally {
      await pc.close();
    }
  }

  it("coturn allocates a relay only for valid credentials; expired, forged and tampered ones are refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      { name: "valid", creds: turnCredentials(SECRET, 300, "ok"), expected: ["relay"] },
      { name: "expired (right HMAC, expiry in the past)", creds: turnCredentials(SECRET, -60, "late"), expected: [] },
      { name: "forged (HMAC with another secret)", creds: turnCredentials("not-the-secret", 300, "forger"), expected: [] },
      // A valid credential with the expiry pushed out: the HMAC no longer matches the username.
      { name: "tampered (expiry extended)", creds: { ...turnCredentials(SECRET, 300, "alice"), username: `${now + 86400}:alice` }, expected: [] },
    ];
    // werift keeps retrying a refused allocation for ~13 s: run the cases side by side.
    const results = await Promise.all(
      cases.map(async (c) => {
        const started = performance.now();
        const gathered = await gatherRelay(c.creds.username, c.creds.credential);
        return { ...c, gathered, ms: performance.now() - started };
      }),
    );
    for (const r of results) {
      expect(r.gathered, r.name).toEqual(r.expected);
      // coturn itself says why: the HMAC (with the expiry) does not check out against the shared secret.
      const refusals = coturn.log().split("\n").filter((l) => l.includes(`check_stun_auth: Cannot find credentials of user <${r.creds.username}>`));
      expect(refusals.length > 0, r.name).toBe(r.expected.length === 0);
    }
  });
});
