package commands

import (
	"fmt"
	"time"

	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/fetch"
)

// testModuleMaxSkew is the clock skew test-module reports as a failure:
// fetching takes its times from the API, but Microsoft Entra ID checks the
// times of tokens and certificate assertions with about 5 minutes of
// tolerance.
const testModuleMaxSkew = 5 * time.Minute

// clockSkew is how far the engine's clock is from the API's, as the
// client learned it from the answers so far (ok false: no answer yet).
func clockSkew(c *activity.Client) (offset time.Duration, ok bool) {
	return c.ServerClock().Offset()
}

// skewWarning is the warning entry for a skew of at least
// fetch.SkewWarning, logged on stderr too.
func skewWarning(env *Env, c *activity.Client) (xcontext.Entry, bool) {
	d, ok := clockSkew(c)
	if !ok || (d < fetch.SkewWarning && d > -fetch.SkewWarning) {
		return xcontext.Entry{}, false
	}
	msg := fetch.SkewMessage(d)
	env.Logger.Warn(msg)
	return xcontext.Warning(msg), true
}

// humanMinutes renders a whole number of minutes, "5 minutes".
func humanMinutes(d time.Duration) string {
	return fmt.Sprintf("%d minutes", int(d/time.Minute))
}
