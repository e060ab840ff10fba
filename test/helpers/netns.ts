import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Why network namespaces cannot be used here, or undefined when they can: the NAT lab needs root
 * (CAP_NET_ADMIN and CAP_SYS_ADMIN), iproute2 and iptables.
 */
export function netnsUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "the NAT lab needs root (ip netns, iptables)";
  const probe = `recbot-probe-${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "pipe" });
  } catch (err) {
    return `ip netns add failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
  try {
    execFileSync("ip", ["netns", "exec", probe, "iptables", "-t", "nat", "-L", "-n"], { stdio: "pipe" });
  } catch (err) {
    return `iptables (nat table) does not work in a namespace: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  } finally {
    try { execFileSync("ip", ["netns", "del", probe], { stdio: "pipe" }); } catch {}
  }
  return undefined;
}

/**
 * A set of network namespaces wired with veth pairs, routes and iptables NAT. Every namespace it makes
 * is deleted by `destroy()` (processes still in them are killed first), which is safe to call on failure.
 */
export class NetLab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private links = 0;

  constructor(tag: string) {
    this.prefix = `rb${process.pid}${tag}`;
  }

  /** Creates namespace `<prefix>-<name>` with loopback up; returns its full name. */
  async ns(name: string, { router = false } = {}): Promise<string> {
    const full = `${this.prefix}-${name}`;
    await run("ip", ["netns", "add", full]);
    this.namespaces.push(full);
    await this.exec(full, "ip", "link", "set", "lo", "up");
    if (router) await this.exec(full, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    return full;
  }

  exec(ns: string, ...cmd: string[]): Promise<{ stdout: string; stderr: string }> {
    return run("ip", ["netns", "exec", ns, ...cmd]);
  }

  /** A veth pair between two namespaces, `a` and `b` as address/prefix; returns the interface names. */
  async link(nsA: string, a: string, nsB: string, b: string): Promise<[string, string]> {
    const n = this.links++;
    const [ifA, ifB] = [`v${n}a`, `v${n}b`];
    await run("ip", ["link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB]);
    await this.exec(nsA, "ip", "addr", "add", a, "dev", ifA);
    await this.exec(nsB, "ip", "addr", "add", b, "dev", ifB);
    await this.exec(nsA, "ip", "link", "set", ifA, "up");
    await this.exec(nsB, "ip", "link", "set", ifB, "up");
    await this.carrier(nsA, ifA);
    await this.carrier(nsB, ifB);
    return [ifA, ifB];
  }

  /** Waits (up to 3 s) until a veth end has carrier: a peer started before that may see its first checks fail. */
  private async carrier(ns: string, dev: string): Promise<void> {
    for (let i = 0; i < 60; i++) {
      const { stdout } = await run("ip", ["-n", ns, "-o", "link", "show", "dev", dev]);
      if (/LOWER_UP/.test(stdout)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${dev} in ${ns} has no carrier after 3 s`);
  }

  async defaultRoute(ns: string, via: string): Promise<void> {
    await this.exec(ns, "ip", "route", "add", "default", "via", via);
  }

  async route(ns: string, prefix: string, via: string): Promise<void> {
    await this.exec(ns, "ip", "route", "add", prefix, "via", via);
  }

  /** An extra address on the namespace's loopback (e.g. a server address reachable over several links). */
  async addLoopbackAddress(ns: string, address: string): Promise<void> {
    await this.exec(ns, "ip", "addr", "add", address, "dev", "lo");
  }

  /**
   * Source NAT of everything leaving `outIf`. Plain MASQUERADE keeps the source port when it can, so one
   * internal socket keeps one external port for every destination (endpoint-independent mapping);
   * `--random-fully` picks a new port per destination (symmetric NAT).
   * Like a home router, the NAT box silently drops unsolicited UDP addressed to itself. Without that, the
   * first ICE check from outside creates a conntrack entry (answered by ICMP port unreachable) holding the
   * very port tuple the inside peer's own check needs, and the kernel then maps that check to another port,
   * which defeats hole punching. A dropped packet's conntrack entry is never confirmed, so nothing is held.
   */
  async masquerade(ns: string, outIf: string, kind: "endpoint-independent" | "symmetric"): Promise<void> {
    await this.exec(ns, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", outIf, "-j", "MASQUERADE", ...(kind === "symmetric" ? ["--random-fully"] : []));
    await this.exec(ns, "iptables", "-A", "INPUT", "-i", outIf, "-p", "udp", "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP");
  }

  /** Port forward (DNAT) of a port or range (`"40000:40049"`) arriving on `inIf` to the same ports of an inside address. */
  async forward(ns: string, inIf: string, protocol: "tcp" | "udp", ports: number | string, to: string): Promise<void> {
    await this.exec(ns, "iptables", "-t", "nat", "-A", "PREROUTING", "-i", inIf, "-p", protocol, "--dport", String(ports), "-j", "DNAT", "--to-destination", to);
  }

  /** Kills what still runs in the namespaces, then deletes them (their veths go with them). Never throws. */
  async destroy(): Promise<string[]> {
    const problems: string[] = [];
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        const { stdout } = await run("ip", ["netns", "pids", ns]);
        for (const pid of stdout.split(/\s+/).filter(Boolean)) {
          try { process.kill(Number(pid), "SIGKILL"); } catch {}
        }
        await run("ip", ["netns", "del", ns]);
      } catch (err) {
        problems.push(`${ns}: ${String(err)}`);
      }
    }
    return problems;
  }
}
