import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const TURN_CONF = path.resolve(import.meta.dirname, "../../deploy/turnserver.conf");

export interface CoturnOptions {
  /** Address coturn listens and relays on. */
  ip: string;
  /** Default: a random port in 20000-29999. */
  port?: number;
  secret: string;
  /** Network namespace to run it in (`ip netns exec`); default: the current one. */
  netns?: string;
  /** Lab-only overrides added after deploy/turnserver.conf, e.g. `--allowed-peer-ip=10.0.0.0-10.255.255.255`. */
  extraArgs?: string[];
  /** Config file; default deploy/turnserver.conf (a lab variant of it, e.g. with TLS on). */
  conf?: string;
}

export interface Coturn {
  host: string;
  port: number;
  secret: string;
  /** turn:host:port?transport=udp */
  turnUrl: string;
  stunUrl: string;
  /** Everything coturn logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Debian's turnserver with the repo's deploy/turnserver.conf plus the overrides a lab needs (its address,
 * a free port, a private pidfile and user DB). Resolves once it listens on its UDP port.
 */
export async function startCoturn({ ip, port = 20000 + Math.floor(Math.random() * 10000), secret, netns, extraArgs = [], conf = TURN_CONF }: CoturnOptions): Promise<Coturn> {
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-coturn-"));
  const pidfile = path.join(dir, "turnserver.pid");
  const args = [
    "-c", conf,
    `--static-auth-secret=${secret}`,
    `--listening-ip=${ip}`, `--relay-ip=${ip}`, `--listening-port=${port}`,
    `--pidfile=${pidfile}`, `--userdb=${path.join(dir, "turndb")}`,
    "--log-file=stdout",
    ...extraArgs,
  ];
  const [cmd, argv] = netns ? ["ip", ["netns", "exec", netns, "turnserver", ...args]] : ["turnserver", args];
  const child: ChildProcess = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    let pid: number | undefined;
    try {
      pid = Number(readFileSync(pidfile, "utf8").trim()) || undefined;
    } catch {}
    for (const p of new Set([pid, child.pid])) {
      if (p) try { process.kill(p, "SIGTERM"); } catch {}
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };

  const ns = netns ? ["ip", "netns", "exec", netns] : [];
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`turnserver exited (${child.exitCode}):\n${output.slice(-2000)}`);
    const { stdout } = await run(ns[0] ?? "ss", [...ns.slice(1), ...(ns.length ? ["ss"] : []), "-Hlun", `sport = :${port}`]).catch(() => ({ stdout: "" }));
    if (stdout.includes(`:${port}`)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`turnserver not listening on ${ip}:${port} after 10 s:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: ip, port, secret,
    turnUrl: `turn:${ip}:${port}?transport=udp`,
    stunUrl: `stun:${ip}:${port}`,
    log: () => output,
    stop,
  };
}
