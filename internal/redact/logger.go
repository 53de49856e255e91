package redact

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Logger is the run's logger: text records on w (stderr) at level (debug,
// info, warn or error; empty is info), every one through the set's handler,
// so that no secret registered in s is ever written.
func (s *Set) Logger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "", "info":
		l = slog.LevelInfo
	case "debug":
		l = slog.LevelDebug
	case "warn", "warning":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		return nil, fmt.Errorf("unknown log level %q: use debug, info, warn or error", level)
	}
	return slog.New(s.Handler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))), nil
}
