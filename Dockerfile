# The container image Cortex XSOAR runs the integration in: a Python 3 runtime
# for the bridge script embedded in integration.yml (xsoar/bridge.py), with the
# static ms-management-activity executable on PATH.
#
#   docker build -t ms-management-activity:1.0.0 .
#
# The tag must match script.dockerimage in integration.yml (xsoar/README.md).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/ms-management-activity .

FROM python:3.11-slim
# CommonServerPython, which the engine injects next to the bridge, uses requests.
RUN pip install --no-cache-dir requests==2.32.3
COPY --from=build /out/ms-management-activity /usr/local/bin/ms-management-activity
ENV MSMA_BINARY=/usr/local/bin/ms-management-activity
CMD ["python3"]
