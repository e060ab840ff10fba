#!/bin/sh
# The deployment test (`npm run test:deploy`, a step of .ci/run): docker-compose.yml's stack built and run for real.
# Makes sure a Docker engine runs (as root: installs Debian's docker.io/debootstrap where missing, starts dockerd when
# it is not up, and stops at the end what it started), makes the base image when it is absent, then runs
# test/deploy/stack.test.ts (compose up --build, recordings through coturn and direct, SIGTERM, down -v).
# Runs outside a loopback-only namespace: the image builds fetch Debian packages and npm packages; the stack itself
# runs on an internal Docker network (test/deploy/compose.test.yml).
set -eu
cd "$(dirname "$0")/.."
t0=$(date +%s)
stage() { echo "deploy-test: $1 ($(($(date +%s) - t0)) s)" >&2; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "deploy-test: needs Docker (docker.io), debootstrap and docker-compose; install them as root" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io debootstrap docker-compose >&2 \
    || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io debootstrap docker-compose >&2; }
  stage "installed docker.io, debootstrap, docker-compose"
fi

started=""
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "deploy-test: no Docker engine answers and only root can start one" >&2; exit 1; }
  log=$(mktemp /tmp/deploy-test-dockerd.XXXXXX.log)
  setsid dockerd >"$log" 2>&1 </dev/null &
  started=$!
  i=0
  until docker info >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 60 ] || ! kill -0 "$started" 2>/dev/null; then echo "deploy-test: dockerd did not come up:" >&2; tail -20 "$log" >&2; exit 1; fi
    sleep 1
  done
  stage "started dockerd (pid $started, log $log)"
fi
stop_engine() {
  [ -n "$started" ] || return 0
  kill -TERM "$started" 2>/dev/null || true
  i=0
  while kill -0 "$started" 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
  echo "deploy-test: stopped the dockerd it started" >&2
}
trap stop_engine EXIT
trap 'exit 130' INT TERM

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  # Made from Debian's packages (no image registry is assumed reachable; with one, `docker pull` gives the same base).
  sh scripts/debian-base-image.sh
  stage "base image debian:bookworm-slim ready"
fi

# CAs this machine added locally (an inspecting proxy in front of the npm registry): the image build's npm ci needs them.
for crt in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$crt" ] && cp "$crt" deploy/extra-ca/
done

stage "engine ready"
npm exec -- vitest run --config test/deploy/vitest.config.ts
stage "done"
