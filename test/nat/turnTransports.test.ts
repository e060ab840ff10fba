import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { RTCPeerConnection } from "werift";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { turnCredentials, type IceServer } from "../../src/session/iceServers.ts";
import { weriftIceServers } from "../../src/session/iceOptions.ts";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { startCoturn, TURN_CONF, type Coturn } from "../helpers/coturn.ts";
import { serverGroup, TEST_LOG } from "../helpers/testServer.ts";
import { verifyRecording } from "../helpers/verifyRecording.ts";

const SECRET = "turn-transports-secret";
const SECONDS = 3;
// Apart from relay.test.ts's random 20000-29999 listener and 49160-49200 relay range.
const PORT = 33478;
const TLS_PORT = 35349;
const RELAY_PORTS = ["--min-port=49300", "--max-port=49340"];

/**
 * How the nominated pair's local side reaches its TURN server: "udp", "tcp" or "tls". werift falls back from a
 * failed UDP allocation to TCP on its own, so the URL alone does not say which transport carried the media.
 */
function turnTransportOf(pc: RTCPeerConnection): string | undefined {
  const pair = pc.iceTransports[0]?.connection.nominated as unknown as { protocol?: { turn?: { transport?: { type?: string } } } } | undefined;
  return pair?.protocol?.turn?.transport?.type;
}

describe("TURN over TCP and TLS (turns:) through coturn on 127.0.0.1", () => {
  let coturn: Coturn;
  let clip: Clip;
  let caPem: string;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-turn-transports-"));
  const { start: startRecbot, close: closeRecbots } = serverGroup("turn-transports", { recordingsDir: dir, logLevel: TEST_LOG });

  beforeAll(async () => {
    // A self-signed certificate for 127.0.0.1, made now (none is kept in the repo).
    const key = path.join(dir, "turn.key");
    const cert = path.join(dir, "turn.crt");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
    caPem = readFileSync(cert, "utf8");
    // deploy/turnserver.conf with TLS switched on (the doc's recipe for turns:): cert, key, TLS listener.
    const conf = path.join(dir, "turnserver.conf");
    const base = readFileSync(TURN_CONF, "utf8").split("\n").filter((l) => l.trim() !== "no-tls");
    writeFileSync(conf, [...base, `cert=${cert}`, `pkey=${key}`, `tls-listening-port=${TLS_PORT}`, ""].join("\n"));
    coturn = await startCoturn({
      ip: "127.0.0.1", port: PORT, secret: SECRET, conf,
      extraArgs: ["--allow-loopback-peers", "--allowed-peer-ip=127.0.0.1", ...RELAY_PORTS],
    });
    clip = await makeClip({ seconds: SECONDS });
  });
  afterAll(async () => {
    await closeRecbots();
    await coturn?.stop();
  });

  it("a werift client relays over TCP (turn:…?transport=tcp, credentials from GET /ice-servers)", async () => {
    const url = `turn:127.0.0.1:${PORT}?transport=tcp`;
    const { base, ws } = await startRecbot({ clientIceServers: [url], turnSecret: SECRET, turnTtlSeconds: 300 });
    const iceServers = (await (await fetch(`${base}/ice-servers`)).json()) as IceServer[];
    let transport: string | undefined;
    const result = await publish({
      url: ws, clip, peerConfig: { ...weriftIceServers(iceServers), iceTransportPolicy: "relay" },
      onConnected: (pc) => (transport = turnTransportOf(pc)),
    });
    expect(result.pair?.local.type).toBe("relay");
    expect(result.pair?.local.port).toBeGreaterThanOrEqual(49300);
    expect(result.pair?.local.port).toBeLessThanOrEqual(49340);
    expect(transport).toBe("tcp");
    await verifyRecording(result, { dir });
  });

  it("a werift client relays over TLS (turns:, coturn's self-signed certificate trusted through turnTlsOptions.ca)", async () => {
    const { ws } = await startRecbot();
    const creds = turnCredentials(SECRET, 300, "tls-client");
    let transport: string | undefined;
    const result = await publish({
      url: ws, clip,
      peerConfig: {
        ...weriftIceServers([{ urls: `turns:127.0.0.1:${TLS_PORT}?transport=tcp`, ...creds }]),
        iceTransportPolicy: "relay",
        turnTlsOptions: { ca: caPem },
      },
      onConnected: (pc) => (transport = turnTransportOf(pc)),
    });
    expect(result.pair?.local.type).toBe("relay");
    expect(transport).toBe("tls");
    await verifyRecording(result, { dir });
  });

  /** recbot relayed over TCP: its pair, whether a TCP connection to coturn was up while connected, and the file's check. */
  async function recbotOverTcp() {
    const { ws } = await startRecbot({ iceServers: [`turn:127.0.0.1:${PORT}?transport=tcp`], turnSecret: SECRET, iceTransportPolicy: "relay" });
    let tcpToCoturn = "";
    // The client has only host candidates (UDP), so the one TCP connection to coturn's port is recbot's TURN link.
    const result = await publish({ url: ws, clip, onConnected: () => (tcpToCoturn = execFileSync("ss", ["-Htn", "state", "established", `dport = :${PORT}`], { encoding: "utf8" })) });
    return { result, tcpToCoturn };
  }

  it("recbot itself relays over TCP (iceServers turn:…?transport=tcp, iceTransportPolicy relay)", async () => {
    const { result, tcpToCoturn } = await recbotOverTcp();
    expect(new Set([...result.answerSdp.matchAll(/ typ (\w+)/g)].map((m) => m[1]))).toEqual(new Set(["relay"]));
    expect(result.pair?.remote.type).toBe("relay");
    expect(result.pair?.remote.port).toBeGreaterThanOrEqual(49300);
    expect(result.pair?.remote.port).toBeLessThanOrEqual(49340);
    expect(tcpToCoturn).toContain(`127.0.0.1:${PORT}`);
    // Duration, size, codecs, no decode errors and every audio frame; every video frame: the next case.
    const check = await verifyRecording(result, { dir, minFrameRatio: 0 });
    expect(check.audioFramesRecorded).toBeGreaterThanOrEqual(Math.floor(0.98 * 50 * SECONDS));
    expect(check.videoFramesRecorded).toBeGreaterThan(0);
  });

  // Was 30/90 video frames: the publisher's first SRTP packets reached recbot in the same TCP read as the last DTLS
  // flight and werift dropped them before its SRTP keys were in place (patches/werift+0.25.2.patch, docs/turn.md).
  it("recbot relayed over TCP records every video frame", async () => {
    const { result } = await recbotOverTcp();
    await verifyRecording(result, { dir });
  });
});
