import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { loadConfig, options } from "../../src/config/loadConfig.ts";
import { inRanges, readTurnConf } from "../helpers/turnConf.ts";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const composeFile = path.join(root, "docker-compose.yml");
const turnConfFile = path.join(root, "deploy/turnserver.conf");
const env = { PATH: process.env.PATH, TURN_SECRET: "compose-test-secret", PUBLIC_IP: "203.0.113.10", PUBLIC_HOST: "rec.example.org" };

/** `docker-compose config` (Debian's docker-compose 1.29; no engine needed), as JSON via PyYAML, which it depends on. */
async function resolvedCompose(extraEnv: Record<string, string> = {}): Promise<any> {
  const { stdout: yaml } = await run("docker-compose", ["-f", composeFile, "config"], { cwd: root, env: { ...env, ...extraEnv } });
  const json = await new Promise<string>((resolve, reject) => {
    const child = execFile("python3", ["-c", "import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"], (err, out) =>
      err ? reject(err) : resolve(out),
    );
    child.stdin!.end(yaml);
  });
  return JSON.parse(json);
}

const envNames = new Map(Object.entries(options).map(([key, [envName]]) => [envName, key]));
/** A port of `docker-compose config`: long syntax, or the short string it prints when a host address is set. */
function parsePort(p: any): { hostIp: string; published: number; target: number; protocol: string } {
  if (typeof p !== "string") return { hostIp: p.host_ip ?? "0.0.0.0", published: Number(p.published), target: Number(p.target), protocol: p.protocol ?? "tcp" };
  const [, hostIp = "0.0.0.0", published, target, protocol = "tcp"] = /^(?:([\d.]+):)?(\d+):(\d+)(?:\/(\w+))?$/.exec(p)!;
  return { hostIp, published: Number(published), target: Number(target), protocol };
}
const portsOf = (service: any, protocol: string) =>
  service.ports.map(parsePort).filter((p: any) => p.protocol === protocol).map((p: any) => [p.published, p.target]);

describe("docker-compose.yml", () => {
  it("validates with `docker-compose config -q`", async () => {
    await expect(run("docker-compose", ["-f", composeFile, "config", "-q"], { cwd: root, env })).resolves.toBeDefined();
  });

  it("refuses to start without the shared secret", async () => {
    const { TURN_SECRET: _omitted, ...withoutSecret } = env;
    const failure = await run("docker-compose", ["-f", composeFile, "config", "-q"], { cwd: root, env: withoutSecret }).catch((e) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(String(failure.stderr)).toContain("TURN_SECRET");
  });

  it("gives recbot only env vars of the app's config schema, and they load into a valid config", async () => {
    const recbot = (await resolvedCompose()).services.recbot;
    const names = Object.keys(recbot.environment);
    expect(names.filter((n) => !envNames.has(n))).toEqual([]);
    const config = loadConfig(recbot.environment, []);
    expect(config.turnSecret).toBe(env.TURN_SECRET);
    expect(config.announcedAddresses).toEqual([env.PUBLIC_IP]);
    expect(config.clientIceServers.every((u) => u.includes(env.PUBLIC_HOST))).toBe(true);
    // recbot's ICE port range is published 1:1 (a 1:1 NAT: the announced address needs the same ports).
    const [min, max] = config.udpPortRange!;
    const udp = portsOf(recbot, "udp");
    expect(udp).toHaveLength(max - min + 1);
    expect(udp.every(([pub, target]: number[]) => pub === target && pub >= min && pub <= max)).toBe(true);
    expect(portsOf(recbot, "tcp")).toEqual([[config.port, config.port]]);
    expect(recbot.volumes.some((v: any) => (v.target ?? String(v).split(":")[1]) === config.recordingsDir)).toBe(true);
  });

  it("runs coturn with deploy/turnserver.conf and the same secret as recbot", async () => {
    const compose = await resolvedCompose();
    const coturn = compose.services.coturn;
    const command: string[] = coturn.command;
    const confPath = command[command.indexOf("-c") + 1];
    // Built from Debian's coturn package with the config file copied to the path the command reads.
    expect(coturn.build.dockerfile).toBe("deploy/coturn.Dockerfile");
    const dockerfile = readFileSync(path.join(coturn.build.context, coturn.build.dockerfile), "utf8");
    const copy = /^COPY (\S+) (\S+)$/m.exec(dockerfile)!;
    expect(path.resolve(coturn.build.context, copy[1])).toBe(turnConfFile);
    expect(copy[2]).toBe(confPath);
    expect(command).toContain(`--static-auth-secret=${compose.services.recbot.environment.RECBOT_TURN_SECRET}`);

    // The relay range published 1:1 is exactly the config file's min-port..max-port.
    const conf = readTurnConf(turnConfFile);
    const [min, max] = [Number(conf.get("min-port")![0]), Number(conf.get("max-port")![0])];
    const relay = portsOf(coturn, "udp").filter(([p]: number[]) => p !== 3478);
    expect(relay.map(([p]: number[]) => p)).toEqual(Array.from({ length: max - min + 1 }, (_, i) => min + i));
    expect(relay.every(([pub, target]: number[]) => pub === target)).toBe(true);

    // The one private peer coturn is allowed to relay to is recbot's address on the compose network.
    const recbotIp = compose.services.recbot.networks["recbot-net"].ipv4_address;
    expect(command).toContain(`--allowed-peer-ip=${recbotIp}`);
  });
});

describe("docker-compose.yml's published ports", () => {
  const hostIps = (compose: any) => new Set(Object.values(compose.services).flatMap((s: any) => s.ports.map((p: any) => parsePort(p).hostIp)));

  it("bind every host address by default, only BIND_IP when it is set (the deployment test: 127.0.0.1)", async () => {
    expect(hostIps(await resolvedCompose())).toEqual(new Set(["0.0.0.0"]));
    expect(hostIps(await resolvedCompose({ BIND_IP: "127.0.0.1" }))).toEqual(new Set(["127.0.0.1"]));
  });
});

describe("deploy/turnserver.conf follows coturn's security advice", () => {
  const conf = readTurnConf(turnConfFile);

  it("accepts only TURN REST API credentials and exposes no admin interface", () => {
    for (const flag of ["use-auth-secret", "fingerprint", "no-cli", "no-multicast-peers", "no-tcp-relay", "no-software-attribute"]) {
      expect(conf.has(flag), flag).toBe(true);
    }
    expect(conf.get("realm")?.[0]).toBeTruthy();
    expect(conf.has("static-auth-secret")).toBe(false); // the secret comes from the environment, never the repo
    expect(conf.has("allow-loopback-peers")).toBe(false);
    expect(conf.has("web-admin")).toBe(false);
  });

  it.each([
    ["loopback", "127.0.0.1"], ["private 10/8", "10.1.2.3"], ["private 172.16/12", "172.28.0.10"],
    ["private 192.168/16", "192.168.1.1"], ["link-local", "169.254.169.254"], ["CGNAT", "100.64.0.1"],
    ["multicast", "239.255.255.250"], ["this network", "0.0.0.0"],
  ])("denies relaying to %s peers (%s)", (_name, ip) => {
    expect(inRanges(ip, conf.get("denied-peer-ip") ?? [])).toBe(true);
  });

  it("allows public peers", () => {
    expect(inRanges("8.8.8.8", conf.get("denied-peer-ip") ?? [])).toBe(false);
  });

  it("uses a narrow relay port range", () => {
    const span = Number(conf.get("max-port")![0]) - Number(conf.get("min-port")![0]) + 1;
    expect(span).toBeGreaterThan(0);
    expect(span).toBeLessThanOrEqual(1000);
  });
});
