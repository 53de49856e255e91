package cli

import (
	"io"
	"os"

	"golang.org/x/term"
)

// Streams are where a run of the command line writes, and what they are:
// the one place that knows about terminals.
type Streams struct {
	Out, Err io.Writer
	// OutTTY selects rendered tables (else verbatim markdown); ErrTTY
	// enables progress; Width is the terminal's width (0: 100).
	OutTTY, ErrTTY bool
	Width          int
}

// NewStreams finds out whether stdout and stderr are terminals, and the
// width of stdout's.
func NewStreams(stdout, stderr io.Writer) *Streams {
	s := &Streams{Out: stdout, Err: stderr}
	s.OutTTY, s.Width = isTerminal(stdout)
	s.ErrTTY, _ = isTerminal(stderr)
	return s
}

// isTerminal reports whether w is a terminal, and its width.
func isTerminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		width = 100
	}
	return true, width
}
