package auth

import (
	"errors"
	"net"
	"testing"
)

// TestUnknownHostIsNotRetried: a token endpoint whose host name does not
// resolve fails at once; connection failures and timeouts are retried.
func TestUnknownHostIsNotRetried(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&net.DNSError{Err: "no such host", Name: "login.example", IsNotFound: true}, false},
		{&net.DNSError{Err: "server misbehaving", Name: "login.example", IsTemporary: true}, true},
		{&net.OpError{Op: "dial", Err: errors.New("connect: connection refused")}, true},
		{errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority"), false},
	} {
		if got := transientTransport(c.err); got != c.want {
			t.Errorf("transientTransport(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
