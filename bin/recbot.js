#!/usr/bin/env node
// The `recbot` command (package.json "bin"). Plain JavaScript that any Node can parse: the CLI itself is TypeScript
// (src/cli/main.ts), which Node runs directly from 22.18 on (type stripping). On an older Node, e.g. a system Node 20
// picked by `#!/usr/bin/env node` after `npm link`, it runs the CLI with the Node that recbot's dependency "node"
// installed (node_modules/node/bin/node), or says what is missing. See docs/cli.md.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const main = new URL("../src/cli/main.ts", import.meta.url);
const [major, minor] = process.versions.node.split(".").map(Number);
const stripsTypes = major >= 24 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);

if (stripsTypes) {
  await import(main.href);
} else {
  let node;
  try {
    node = createRequire(import.meta.url).resolve("node/bin/node");
  } catch {
    console.error(`recbot needs Node.js >= 22.18 (this is ${process.version}); run \`npm ci\` in recbot's directory to get its own Node, or install a newer one`);
    process.exit(1);
  }
  const child = spawn(node, [fileURLToPath(main), ...process.argv.slice(2)], { stdio: "inherit" });
  // A service manager signals this process only: pass it on, so recbot finalizes its recordings.
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    if (!signal) process.exit(code ?? 1);
    process.removeAllListeners(signal); // die of the same signal, as the exit status shows
    process.kill(process.pid, signal);
  });
}
