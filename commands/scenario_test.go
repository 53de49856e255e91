package commands

import (
	"testing"

	"github.com/secops-go/ms-management-activity/clock"
)

// applyScenario starts the emulator described by scenario.json, wires deps to
// it (HTTP client, clock) and returns its root URL.
func applyScenario(t *testing.T, scenario []byte, fake *clock.Fake, deps *Deps) string {
	t.Helper()
	t.Skip("emulator scenarios are not wired yet")
	return ""
}
