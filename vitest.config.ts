import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Builds and runs the Docker stack: its own step, `npm run test:deploy` (scripts/deploy-test.sh).
    exclude: [...configDefaults.exclude, "test/deploy/stack.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Peers, ffmpeg and browsers are heavy on a 2-core machine: run test files one at a time.
    fileParallelism: false,
    pool: "forks",
  },
});
