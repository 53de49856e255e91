package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/secops-go/ms-management-activity/commands"
)

// State files of --state DIR.
const (
	lastRunFile            = "lastRun.json"
	integrationContextFile = "integrationContext.json"
)

// defaultStateDir is the folder of --state without a value:
// $XDG_STATE_HOME/ms-management-activity/<instance>, or
// ~/.local/state/ms-management-activity/<instance> (the XDG default), where
// the instance is the params file's name without its extension ("default"
// without one), so each configuration keeps its own position and tokens,
// away from the working tree.
func defaultStateDir(getenv func(string) string, paramsFile string) (string, error) {
	instance := "default"
	if paramsFile != "" {
		base := filepath.Base(paramsFile)
		if name := strings.TrimSuffix(base, filepath.Ext(base)); name != "" && name != "." {
			instance = name
		}
	}
	root := getenv("XDG_STATE_HOME")
	if root == "" {
		home := getenv("HOME")
		if home == "" {
			return "", &usageError{"--state without a value needs XDG_STATE_HOME or HOME to find the default state folder", "give the folder: --state DIR"}
		}
		root = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(root, "ms-management-activity", instance), nil
}

// checkStateWritable makes sure dir exists (creating it, mode 0700) and
// that a file can be created in it, before the command runs: failing only
// when saving lastRun, after printing the incidents, would make the next
// run fetch them again.
func checkStateWritable(dir string) error {
	fail := func(err error) error {
		return &usageError{fmt.Sprintf("the state folder %s cannot be written: %v", dir, err), "give a folder this user can write with --state DIR, or --state alone for the default folder (see \"ms-management-activity help\")"}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(dir, ".write-check.*.tmp")
	if err != nil {
		return fail(err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fail(err)
	}
	return nil
}

// loadState reads DIR/lastRun.json and DIR/integrationContext.json (absent
// files are empty state).
func loadState(dir string) (lastRun json.RawMessage, ictx map[string]any, err error) {
	if dir == "" {
		return nil, nil, nil
	}
	read := func(name string) ([]byte, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, &usageError{fmt.Sprintf("cannot read the state: %v", err), "--state DIR must be a folder this user can read and write"}
		}
		if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] != '{' || !json.Valid(t)) {
			return nil, &usageError{fmt.Sprintf("%s is not a JSON object", filepath.Join(dir, name)), "fix it, or delete it to start over (deleting lastRun.json makes the next fetch start from first_fetch_delta)"}
		}
		return data, nil
	}
	lr, err := read(lastRunFile)
	if err != nil {
		return nil, nil, err
	}
	ic, err := read(integrationContextFile)
	if err != nil {
		return nil, nil, err
	}
	if len(bytes.TrimSpace(ic)) > 0 {
		if err := json.Unmarshal(ic, &ictx); err != nil {
			return nil, nil, &usageError{fmt.Sprintf("%s: %v", integrationContextFile, err), "fix it, or delete it (the next command gets a new token)"}
		}
	}
	if len(bytes.TrimSpace(lr)) > 0 {
		lastRun = bytes.TrimSpace(lr)
	}
	return lastRun, ictx, nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder and a rename, mode 0600: a crash leaves the old or the new file,
// never half of one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// saveState stores what the command left: lastRun after a successful fetch,
// integrationContext when the command changed it.
func saveState(dir string, command string, out *commands.Output, code int) error {
	if dir == "" || code != commands.ExitOK {
		return nil
	}
	enc := func(v any) ([]byte, error) {
		b, err := json.MarshalIndent(v, "", "  ")
		return append(b, '\n'), err
	}
	if command == commands.CmdFetchIncidents && out.LastRun != nil {
		b, err := enc(out.LastRun)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, lastRunFile), b); err != nil {
			return fmt.Errorf("saving lastRun: %w", err)
		}
	}
	if out.IntegrationContext != nil {
		b, err := enc(out.IntegrationContext)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, integrationContextFile), b); err != nil {
			return fmt.Errorf("saving integrationContext: %w", err)
		}
	}
	return nil
}
