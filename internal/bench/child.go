package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// bencher runs the children of one bench run.
type bencher struct {
	cfg        *config
	l          *launcher
	floor      int64 // launcher's peak RSS
	bin, tmp   string
	f          *front
	params     map[string]any
	ictx       map[string]any // integrationContext with the cached token
	start, end time.Time
}

type child struct {
	wall, cpu time.Duration
	maxRSS    int64 // bytes
	exit      int
	out       []byte
	stderr    string
}

func (b *bencher) exec(envelope map[string]any) (*child, error) {
	in, err := json.Marshal(envelope)
	if err != nil {
		return nil, err
	}
	inPath, outPath := filepath.Join(b.tmp, "stdin.json"), filepath.Join(b.tmp, "stdout.json")
	if err := os.WriteFile(inPath, in, 0o600); err != nil {
		return nil, err
	}
	res, err := b.l.run(launchReq{Bin: b.bin, Stdin: inPath, Stdout: outPath,
		Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "MSMA_LOG_LEVEL=" + cmp.Or(b.cfg.childLog, "warn")}})
	if err != nil {
		return nil, err
	}
	if b.cfg.childLog != "" {
		fmt.Fprintf(os.Stderr, "--- %v: wall %v cpu %v\n%s", envelope["command"], time.Duration(res.WallNs), time.Duration(res.CPUNs), res.Stderr)
	}
	b.floor = max(b.floor, res.LauncherRSSKiB<<10)
	c := &child{wall: time.Duration(res.WallNs), cpu: time.Duration(res.CPUNs), maxRSS: res.MaxRSSKiB << 10, exit: res.Exit, stderr: res.Stderr}
	if c.out, err = os.ReadFile(outPath); err != nil {
		return nil, err
	}
	return c, nil
}

func (b *bencher) envelope(command string, params, args map[string]any, lastRun json.RawMessage) map[string]any {
	e := map[string]any{"command": command, "params": params, "integrationContext": b.ictx}
	if args != nil {
		e["args"] = args
	}
	if lastRun != nil {
		e["lastRun"] = lastRun
	}
	return e
}

func withParams(base map[string]any, extra map[string]any) map[string]any {
	p := map[string]any{}
	for k, v := range base {
		p[k] = v
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

type output struct {
	Results []struct {
		Type         int            `json:"Type"`
		Contents     any            `json:"Contents"`
		EntryContext map[string]any `json:"EntryContext"`
	} `json:"results"`
	Incidents          []json.RawMessage `json:"incidents"`
	LastRun            json.RawMessage   `json:"lastRun"`
	IntegrationContext map[string]any    `json:"integrationContext"`
}

func (c *child) decode() (*output, error) {
	var o output
	if err := json.Unmarshal(c.out, &o); err != nil {
		return nil, fmt.Errorf("child output: %w (stderr: %s)", err, c.stderr)
	}
	if c.exit != 0 {
		return &o, fmt.Errorf("child exit %d: %s %s", c.exit, firstN(string(c.out), 400), c.stderr)
	}
	return &o, nil
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (b *bencher) warmUp() error {
	c, err := b.exec(b.envelope("test-module", b.params, nil, nil))
	if err != nil {
		return err
	}
	o, err := c.decode()
	if err != nil {
		return err
	}
	b.ictx = o.IntegrationContext
	return nil
}
