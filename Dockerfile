# forcehttps in a container: `forcehttps headers`, the header inspector, on
# $PORT (default 8080). Used by deploy/cloudrun; any other command of the
# binary runs with `docker run IMAGE` + `--entrypoint /forcehttps`.
#
#   docker build -t forcehttps .
#   docker run --rm -p 127.0.0.1:8080:8080 forcehttps
#   curl -s http://127.0.0.1:8080/headers.json

# Build stage: a static binary (no cgo), without local paths or symbols.
FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so that they are cached while the sources change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/forcehttps ./cmd/forcehttps

# Final stage: no shell, no package manager; CA certificates and time zone
# data included; runs as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/forcehttps /forcehttps
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/forcehttps", "headers"]
