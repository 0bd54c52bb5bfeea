# The sim flavor of faultline (explore, replay, shrink, run) with the scenarios, for running
# explorations on a cluster (see deploy/k8s/explore-job.yaml).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin faultline \
      --config "build.rustflags=['--cfg','madsim']" --target-dir target/sim

FROM debian:bookworm-slim
COPY --from=build /src/target/sim/release/faultline /usr/local/bin/faultline
COPY scenarios /faultline/scenarios
WORKDIR /faultline
ENTRYPOINT ["faultline"]
