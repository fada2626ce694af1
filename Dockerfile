# Limen's server in a small image that runs as a non-root user.
#   docker build -t limen .
# The models are inside the binary; nothing is fetched when it runs.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p limen \
 && strip target/release/limen

FROM debian:bookworm-slim
# CA certificates for the access systems' and the mail server's TLS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 limen \
 && useradd --system --uid 10001 --gid limen --no-create-home --shell /usr/sbin/nologin limen \
 && install -d -o limen -g limen -m 0700 /var/lib/limen /var/lib/limen-key
COPY --from=build /src/target/release/limen /usr/local/bin/limen
USER limen:limen
# The data and, apart from it so that a backup of one never holds both,
# the master key.
ENV LIMEN_DATA_DIR=/var/lib/limen \
    LIMEN_MASTER_KEY_FILE=/var/lib/limen-key/master.key \
    LIMEN_BIND=0.0.0.0:8080
VOLUME ["/var/lib/limen", "/var/lib/limen-key"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/limen"]
CMD ["serve"]
