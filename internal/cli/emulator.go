package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/commands"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/progress"
	"github.com/secops-go/ms-management-activity/params"
)

// emulatorSecret is the client secret of the emulator command's app
// registration: fixed, so a params file and MSMA_CLIENT_SECRET keep working
// across restarts. It opens nothing but the emulator.
const emulatorSecret = "emulator-client-secret-not-a-real-one"

// emulatorOptions are the emulator command's flags.
type emulatorOptions struct {
	addr        string // where to listen (loopback only)
	writeParams string // a params file to write for it ("": none)
	help        bool
}

// emulatorUsage is emulator --help.
const emulatorUsage = `usage: ms-management-activity emulator [--addr 127.0.0.1:8443] [--write-params FILE]

Serves the emulator of the Management Activity API and of Entra ID's token
endpoint, with the demo tenant, on a loopback address until Ctrl-C.
  --addr HOST:PORT      where to listen, loopback only (a port alone means 127.0.0.1:PORT)
  --write-params FILE   write the params to use it (YAML)
`

// parseEmulatorArgs parses [--addr HOST:PORT] [--write-params FILE].
func parseEmulatorArgs(argv []string) (emulatorOptions, error) {
	o := emulatorOptions{addr: "127.0.0.1:8443"}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case (a == "--addr" || a == "--write-params") && i+1 < len(argv):
			if a == "--addr" {
				o.addr = argv[i+1]
			} else {
				o.writeParams = argv[i+1]
			}
			i++
		case strings.HasPrefix(a, "--addr="):
			o.addr = strings.TrimPrefix(a, "--addr=")
		case strings.HasPrefix(a, "--write-params="):
			o.writeParams = strings.TrimPrefix(a, "--write-params=")
		case a == "-h" || a == "--help":
			o.help = true
		default:
			return o, &usageError{fmt.Sprintf("emulator does not take %q", a), "usage: ms-management-activity emulator [--addr 127.0.0.1:8443] [--write-params FILE]"}
		}
	}
	if _, err := strconv.Atoi(o.addr); err == nil {
		o.addr = net.JoinHostPort("127.0.0.1", o.addr) // a port alone
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil || !params.IsLoopback(host) {
		return o, &usageError{fmt.Sprintf("--addr %q is not a loopback address", o.addr), "the emulator hands out tokens to anyone: it listens on loopback only, e.g. --addr 127.0.0.1:8443"}
	}
	return o, nil
}

// emulator serves the emulator with the demo tenant on a loopback address
// until interrupted, and prints what to point the command line at it.
func (a *app) emulator(ctx context.Context, o emulatorOptions) int {
	addr, writeParams := o.addr, o.writeParams

	// The emulator runs as a TLS httptest server on a random port; its
	// handler and certificate are served on the address asked for, so that
	// every URL it hands out (content URIs, next pages) uses that address.
	srv := emulator.NewTLSServer()
	defer srv.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return a.fail(&usageError{fmt.Sprintf("cannot listen on %s: %v", addr, err), "choose another port with --addr 127.0.0.1:PORT"}, commands.ExitFailed)
	}
	hs := &http.Server{Handler: srv.TLSServer().Config.Handler, ReadHeaderTimeout: 10 * time.Second}
	tlsLn := tls.NewListener(ln, srv.TLSServer().TLS.Clone())
	served := make(chan error, 1)
	go func() { served <- hs.Serve(tlsLn) }()

	url := "https://" + ln.Addr().String()
	d := seedDemoTenant(srv)
	d.secret = emulatorSecret
	srv.RegisterApp(emulator.App{TenantID: d.tenant, ClientID: d.clientID, Secret: d.secret})
	yml := d.paramsYAMLAt(url, true)
	if writeParams != "" {
		if err := writeFileAtomic(writeParams, []byte(yml)); err != nil {
			hs.Close()
			return a.fail(fmt.Errorf("writing %s: %w", writeParams, err), commands.ExitFailed)
		}
	}
	pf := writeParams
	if pf == "" {
		pf = "emulator.yml"
	}
	fmt.Fprintf(a.io.Out, `Management Activity API emulator on %s
tenant %s: %s records in %s blobs, 4 content types subscribed (DLP.All is not)

base_url: %s/api/v1.0/
Entra ID token endpoint: %s/%s/oauth2/v2.0/token (authority_url: %s)

Params for the command line%s:

%s

Then:
  export MSMA_CLIENT_SECRET=%s
  ms-management-activity test-module --params %s
  ms-management-activity list-content content_type=Audit.General --params %s
  ms-management-activity fetch-incidents --params %s --state

Press Ctrl-C to stop.
`, url, d.tenant, progress.Thousands(d.records), progress.Thousands(d.blobs), url, url, d.tenant, url,
		map[bool]string{true: " (written to " + writeParams + ")", false: " (save them as emulator.yml, or use --write-params FILE)"}[writeParams != ""],
		indent(yml, "  "), d.secret, pf, pf, pf)

	select {
	case <-ctx.Done():
	case err := <-served:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return a.fail(fmt.Errorf("emulator: %w", err), commands.ExitFailed)
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = hs.Shutdown(shutdown)
	fmt.Fprintln(a.io.Err, "emulator stopped")
	return commands.ExitOK
}
