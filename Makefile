# Convenience targets; each is one documented command (README.md, xsoar/README.md).
IMAGE   ?= ghcr.io/secops-go/ms-management-activity:1.0.0
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)

.PHONY: build test xsoar check-xsoar docker pack-zip

build:                       ## the static executable ./ms-management-activity
	CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/secops-go/ms-management-activity/internal/version.Commit=$(COMMIT)" -o ms-management-activity .

test:
	go test ./...

xsoar:                       ## write IMAGE into integration.yml and regenerate the pack
	go run ./xsoar/embed -image $(IMAGE)

check-xsoar:
	go run ./xsoar/embed -check

docker: xsoar                ## build the integration's image under IMAGE (needs a docker engine)
	docker build --build-arg COMMIT=$(COMMIT) -t $(IMAGE) .

pack-zip: xsoar              ## the pack as a zip for Settings → Upload pack
	go run ./xsoar/embed -image $(IMAGE) -zip MicrosoftManagementActivityGo.zip
