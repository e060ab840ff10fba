import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";

export interface Coturn {
  port: number;
  secret: string;
  realm: string;
  stop(): Promise<void>;
}

/** A free UDP port on 127.0.0.1 (bound then released). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** coturn on 127.0.0.1 with TURN REST API credentials (LAB.md recipe), no config file. */
export async function startCoturn(secret = "recbot-test-secret"): Promise<Coturn> {
  const port = await freeUdpPort();
  const realm = "recbot.test";
  const child: ChildProcess = spawn("turnserver", [
    "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", `--listening-port=${port}`,
    "--min-port=49160", "--max-port=49200", "--use-auth-secret", `--static-auth-secret=${secret}`,
    `--realm=${realm}`, "--fingerprint", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
    "--log-file=stdout", "--simple-log", `--pidfile=/tmp/recbot-test-turn-${port}.pid`,
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`coturn did not start: ${log.slice(-500)}`)), 5000);
    const check = () => {
      if (/Total (UDP|General) servers|listener opened on/i.test(log)) {
        clearTimeout(timer);
        resolve();
      } else setTimeout(check, 50);
    };
    child.once("exit", (code) => reject(new Error(`coturn exited with ${code}: ${log.slice(-500)}`)));
    check();
  });
  return {
    port, secret, realm,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
