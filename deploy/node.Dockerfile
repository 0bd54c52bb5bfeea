# The real flavor of faultline: `faultline node ...` over real sockets, for running a cluster
# of containers (see deploy/compose.yaml). Build it from the repository with:
#   docker build -f deploy/node.Dockerfile -t faultline-node .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin faultline

FROM debian:bookworm-slim
COPY --from=build /src/target/release/faultline /usr/local/bin/faultline
# A node keeps its trace and its durable state in /data: a restarted container recovers from
# the volume, as a restarted process recovers from its durable file.
RUN useradd --system --uid 10001 faultline && mkdir /data && chown faultline /data
USER faultline
VOLUME /data
EXPOSE 7401/udp 7401/tcp
# A node stops cleanly on Ctrl-C (SIGINT); docker's default SIGTERM would wait and then kill it.
STOPSIGNAL SIGINT
ENTRYPOINT ["faultline"]
