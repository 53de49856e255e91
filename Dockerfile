# The container image Cortex XSOAR runs the integration in: a Python 3.11 runtime
# for the bridge script embedded in integration.yml (xsoar/bridge.py), with the
# static ms-management-activity executable on PATH, running as a non-root user.
#
#   docker build -t ghcr.io/secops-go/ms-management-activity:1.0.0 .
#   make docker IMAGE=registry.example.com/secops/ms-management-activity:1.0.0   # also writes the name into integration.yml
#
# The name must match script.dockerimage in integration.yml (xsoar/README.md).
#
# Base images are pinned by digest so that a rebuild uses the same bytes. The
# digests were NOT resolved by pulling (the repository's build machine has no
# docker engine): they are the multi-architecture index digests that public
# Dockerfiles pinned for these tags in 2026. Before a release, check and
# refresh them with
#   docker buildx imagetools inspect golang:1.26
#   docker buildx imagetools inspect python:3.11-slim
# and replace the @sha256:… parts (keep the tags: they say what the digest is).
#
# Python: 3.11, on purpose. CommonServerPython, which the engine injects next
# to the bridge, still imports distutils, which Python 3.12 removed; the
# bridge itself needs only the standard library (3.8 or later).

FROM golang:1.26@sha256:3aff6657219a4d9c14e27fb1d8976c49c29fddb70ba835014f477e1c70636647 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION and COMMIT are shown by `ms-management-activity version`.
ARG VERSION=1.0.0
ARG COMMIT=unknown
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags="-s -w -X github.com/secops-go/ms-management-activity/internal/version.Version=${VERSION} -X github.com/secops-go/ms-management-activity/internal/version.Commit=${COMMIT}" \
      -o /out/ms-management-activity . \
 && /out/ms-management-activity help >/dev/null

FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
# CommonServerPython, which the engine injects next to the bridge, uses requests.
RUN pip install --no-cache-dir requests==2.32.3 \
 && groupadd --gid 4000 msma \
 && useradd --uid 4000 --gid 4000 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin msma
COPY --from=build /out/ms-management-activity /usr/local/bin/ms-management-activity
ENV MSMA_BINARY=/usr/local/bin/ms-management-activity \
    PYTHONDONTWRITEBYTECODE=1
USER 4000:4000
CMD ["python3"]
