package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// The in-process benchmarks of ./commands give the pure decode rate and
// allocations per record the limits are computed from.

type goBench struct {
	recordsPerSec    float64 // wall, one core
	cpuRecordsPerSec float64 // per CPU second of the process
	mbPerSec         float64
	allocsPerRecord  float64
	bytesPerOp       float64
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func runGoBench(root string, quick bool) (map[string]goBench, error) {
	benchtime := "20x"
	if quick {
		benchtime = "5x"
	}
	args := []string{"test", "./commands", "-run", "^$", "-bench", "^Benchmark(ListContent|FetchIncidents)Command$|^BenchmarkListContentRender$", "-cpu", "1", "-benchmem", "-benchtime", benchtime, "-count", "1"}
	logf("go %s", strings.Join(args, " "))
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		os.Stderr.Write(out.Bytes())
		return nil, fmt.Errorf("in-process benchmarks: %w", err)
	}
	res := map[string]goBench{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		var g goBench
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch fields[i+1] {
			case "records/s":
				g.recordsPerSec = v
			case "cpu-records/s", "records/cpu-s":
				g.cpuRecordsPerSec = v
			case "MB/s":
				g.mbPerSec = v
			case "allocs/record":
				g.allocsPerRecord = v
			case "B/op":
				g.bytesPerOp = v
			}
		}
		res[m[1]] = g
	}
	return res, nil
}
