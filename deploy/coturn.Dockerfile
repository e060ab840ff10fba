# coturn from Debian's package with deploy/turnserver.conf, as Debian's unprivileged "turnserver" user.
# Build context: the repository root (docker-compose.yml: build.context "."), so the config path is deploy/….
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends coturn tini \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/turnserver.conf /etc/coturn/turnserver.conf
USER turnserver
EXPOSE 3478/udp 3478/tcp 49160-49200/udp
# A STUN Binding request to itself: answers once coturn listens.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD turnutils_stunclient 127.0.0.1 >/dev/null 2>&1 || exit 1
# turnserver as PID 1 would ignore SIGTERM (docker stop waits 10 s, then kills it): tini passes it on.
ENTRYPOINT ["tini", "--", "turnserver"]
CMD ["-c", "/etc/coturn/turnserver.conf", "--pidfile=/tmp/turnserver.pid"]
