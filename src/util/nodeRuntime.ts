/**
 * Node 24.18.0 changed how crypto tells a Buffer key from a KeyObject, and creating a cipher or HMAC from a Buffer
 * key became 4–6× slower (measured here: createDecipheriv 31 µs vs 6–8 µs on 22.23, 24.17 and 26.10). werift builds
 * a cipher and an HMAC from Buffer keys for every SRTP packet, so on those versions SRTP alone takes about a third
 * of recbot's CPU (docs/bench.md). 24.21.0 is the newest 24.x checked; later 24.x may still have it.
 */
export function slowSrtpRuntime(version: string = process.versions.node): string | undefined {
  const [major, minor] = version.split(".").map(Number);
  if (major === 24 && minor >= 18) {
    return `Node ${version} creates ciphers from Buffer keys 4–6× slower than Node 22 or 26, and werift does so for every SRTP packet: expect about 1.5× recbot's CPU per stream (run it with the project's own Node: npm start, or npx node)`;
  }
  return undefined;
}
