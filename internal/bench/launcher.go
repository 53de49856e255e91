package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// ---- the launcher ----
//
// Peak RSS of a child comes from wait4's rusage (ru_maxrss). On Linux, exec
// folds the high-water mark of the memory the child had before exec into
// it, and os/exec starts children with CLONE_VM: the "memory before exec"
// is the parent's. The bench process holds the emulator's feed (hundreds
// of MiB), so children are started by a small launcher process (this
// program re-executed, started before the feed exists) whose own few MiB
// are the floor of every figure.

type launchReq struct {
	Bin, Stdin, Stdout string
	Env                []string
}

type launchRes struct {
	WallNs, CPUNs, MaxRSSKiB int64
	LauncherRSSKiB           int64 // the launcher's own peak: the floor
	Exit                     int
	Stderr, Err              string
}

type launcher struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser // closing it ends the launcher
	enc   *json.Encoder
	dec   *json.Decoder
}

const launcherEnv = "MSMA_BENCH_LAUNCHER"

func startLauncher() (*launcher, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), launcherEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &launcher{cmd: cmd, stdin: in, enc: json.NewEncoder(in), dec: json.NewDecoder(out)}, nil
}

func (l *launcher) run(req launchReq) (launchRes, error) {
	var res launchRes
	if err := l.enc.Encode(req); err != nil {
		return res, fmt.Errorf("launcher: %w", err)
	}
	if err := l.dec.Decode(&res); err != nil {
		return res, fmt.Errorf("launcher: %w", err)
	}
	if res.Err != "" {
		return res, fmt.Errorf("launcher: %s", res.Err)
	}
	return res, nil
}

// close ends the launcher: its stdin reaches EOF. (cmd.Stdin is the pipe's
// read end, which the launcher holds; closing that would leave it waiting.)
func (l *launcher) close() {
	l.stdin.Close()
	_ = l.cmd.Wait()
}

// launcherMain serves launch requests on stdin/stdout until stdin closes.
func launcherMain() {
	dec, enc := json.NewDecoder(os.Stdin), json.NewEncoder(os.Stdout)
	for {
		var req launchReq
		if err := dec.Decode(&req); err != nil {
			return
		}
		_ = enc.Encode(launchOne(req))
	}
}

func launchOne(req launchReq) launchRes {
	var res launchRes
	in, err := os.Open(req.Stdin)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer in.Close()
	out, err := os.Create(req.Stdout)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer out.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(req.Bin)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = in, out, &stderr, req.Env
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		res.Err = err.Error()
		return res
	}
	err = cmd.Wait()
	res.WallNs = int64(time.Since(t0))
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		res.Err = err.Error()
		return res
	}
	st := cmd.ProcessState
	res.CPUNs = int64(st.UserTime() + st.SystemTime())
	res.Exit = st.ExitCode()
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSSKiB = ru.Maxrss
	}
	res.Stderr = firstN(stderr.String(), 4000)
	var self syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil {
		res.LauncherRSSKiB = self.Maxrss
	}
	return res
}
