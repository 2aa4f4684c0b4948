# syntax=docker/dockerfile:1

# shepherd in a container: a static binary (no cgo: the SQLite driver is
# pure Go) on a distroless base that runs as a user without privileges.
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) -t shepherd .
#   docker run --rm shepherd --version

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# What `shepherd --version` and every shepherd_log row give
# (internal/version); a build without them says "(devel)".
ARG VERSION=""
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X github.com/shepherd-db/shepherd/internal/version.version=${VERSION} -X github.com/shepherd-db/shepherd/internal/version.commit=${COMMIT}" \
    -o /out/shepherd .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/shepherd /usr/local/bin/shepherd
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/shepherd"]
