# mesos-dns container image.
#   docker build -t mesos-dns .
#   docker run -d --name mesos-dns -p 53:53/udp -p 53:53/tcp -p 8123:8123 \
#     -v /etc/mesos-dns/config.json:/etc/mesos-dns/config.json:ro mesos-dns
# The server runs as a non-root user. Port 53: on Docker's bridge network an unprivileged
# process may bind it (Docker sets net.ipv4.ip_unprivileged_port_start=0 in the container);
# with --network host the binary's file capability (set below) grants CAP_NET_BIND_SERVICE,
# which must stay in the container's bounding set (Docker's default set has it; with
# --cap-drop=ALL add --cap-add=NET_BIND_SERVICE). Or listen on a high port (--port=8053).

# Build: the official Deno image compiles one self-contained binary with the compile
# task's flags (scripts/compile.ts). `deno compile` downloads Deno's runtime (denort).
FROM denoland/deno:2.9.6 AS build
WORKDIR /src
COPY deno.json deno.lock ./
COPY main.ts ./
COPY src ./src
COPY scripts/compile.ts ./scripts/compile.ts
RUN deno task compile \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libcap2-bin \
 && setcap cap_net_bind_service=+ep dist/mesos-dns \
 && ./dist/mesos-dns -version

# Run: distroless with glibc (the UDP fast path loads libc through FFI), non-root.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/mesos-dns /usr/local/bin/mesos-dns
USER nonroot
EXPOSE 53/udp 53/tcp 8123
ENTRYPOINT ["/usr/local/bin/mesos-dns"]
CMD ["-config=/etc/mesos-dns/config.json"]
