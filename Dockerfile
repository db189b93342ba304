# Switchyard container image: a static-ish release build on a slim Debian base,
# running as an unprivileged user, with /data as the volume for the SQLite file.
#
#   docker build -t switchyard .
#   docker run -p 8080:8080 -v switchyard-data:/data switchyard
#   docker run -p 8080:8080 -e SWITCHYARD_DATABASE_URL=postgres://user:pw@db:5432/switchyard switchyard

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked --bin switchyard

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin switchyard \
    && mkdir -p /data && chown switchyard:switchyard /data
COPY --from=build /src/target/release/switchyard /usr/local/bin/switchyard
USER switchyard
WORKDIR /data
ENV SWITCHYARD_LISTEN=0.0.0.0:8080 \
    SWITCHYARD_DATABASE_URL=sqlite:///data/switchyard.db \
    SWITCHYARD_ADMIN_PASSWORD_FILE=/data/switchyard-admin-password.txt \
    SWITCHYARD_LOG__FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/switchyard"]
CMD ["serve"]
