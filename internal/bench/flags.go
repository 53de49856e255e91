package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// config is the bench's command line.
type config struct {
	quick     bool
	reps      int
	blobs     int // in the feed
	perBlob   int // records per blob
	latencies []time.Duration
	pars      []int // download_concurrency values
	tls       bool
	bin       string
	noGoBench bool
	hugeN     int // records in the huge fetch window
	skipQuota bool
	keep      bool
	childLog  string
	search    searchConfig // search.go
}

// parseFlags parses the bench's flags (args without the program name).
func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.BoolVar(&c.quick, "quick", false, "one repetition, 200k-record huge window, short in-process benchmarks")
	fs.IntVar(&c.reps, "reps", 3, "repetitions of each timed configuration (the best is reported)")
	fs.IntVar(&c.blobs, "blobs", 200, "blobs in the feed")
	fs.IntVar(&c.perBlob, "records", 500, "records per blob")
	latencies := fs.String("latency", "0,50ms", "per-request latencies, comma-separated")
	pars := fs.String("parallelism", "1,8", "download_concurrency values, comma-separated")
	fs.BoolVar(&c.tls, "tls", false, "serve the emulator over TLS (self-signed; the child runs with insecure=true)")
	fs.StringVar(&c.bin, "bin", "", "use this binary instead of building one")
	fs.BoolVar(&c.noGoBench, "no-gotest", false, "skip the in-process go test benchmarks (decode rates are then unknown)")
	fs.IntVar(&c.hugeN, "huge", 1_000_000, "records in the huge fetch window (RSS check)")
	fs.BoolVar(&c.skipQuota, "no-quota", false, "skip the throttling run")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (binary, outputs)")
	fs.StringVar(&c.childLog, "child-log", "", "log level of the children (e.g. debug); their logs are printed to stderr")
	registerSearchFlags(fs, &c.search)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.quick {
		c.reps = 1
		if c.hugeN == 1_000_000 {
			c.hugeN = 200_000
		}
	}
	var err error
	if c.latencies, err = parseDurations(*latencies); err != nil {
		return nil, err
	}
	if c.pars, err = parseInts(*pars); err != nil {
		return nil, err
	}
	return c, nil
}

func parseDurations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "0" {
			out = append(out, 0)
			continue
		}
		d, err := time.ParseDuration(p)
		if err != nil {
			return nil, fmt.Errorf("bad latency %q", p)
		}
		out = append(out, d)
	}
	return out, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad parallelism %q", p)
		}
		out = append(out, n)
	}
	return out, nil
}
