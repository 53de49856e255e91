package activity

import (
	"crypto/tls"
	"fmt"
	"testing"
)

// A TLS version mismatch is permanent: retrying only delays the error.
func TestTLSVersionMismatchNotRetried(t *testing.T) {
	err := fmt.Errorf("Get \"https://x\": %w", tls.AlertError(70)) // protocol_version
	if transportRetryable(err) {
		t.Errorf("transportRetryable(%v) = true, want false", err)
	}
	if !transportRetryable(fmt.Errorf("read: connection reset by peer")) {
		t.Error("a connection reset must stay retryable")
	}
}
