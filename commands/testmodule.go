package commands

import (
	"context"
	"fmt"
	"strings"

	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/fetch"
)

// testModule checks, in order, the configuration, getting a token and a
// subscriptions list call, and says which step failed and what to do.
func testModule(ctx context.Context, env *Env) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, subscriptionDeadline)
	defer cancel()
	p := env.Params

	// 1. Configuration (params already decoded; check what only fetch reads).
	const fixIt = "Fix the parameter and test again."
	if _, err := p.FirstFetch(); err != nil {
		return nil, inSentence("step 1 of 3 (configuration) failed: ", err, fixIt)
	}
	fetchTypes, err := p.FetchContentTypes()
	if err != nil {
		return nil, inSentence("step 1 of 3 (configuration) failed: ", err, fixIt)
	}
	if _, err := p.Filter(); err != nil {
		return nil, inSentence("step 1 of 3 (configuration) failed: ", err, fixIt)
	}

	// 2. A token.
	ts, err := env.Tokens(ctx)
	if err == nil {
		_, err = ts.Token(ctx)
	}
	if err != nil {
		return nil, inSentence("step 2 of 3 (getting an access token) failed: ", err, "Check the credentials parameters (see the Help tab); if a refresh token or authorization code has expired, run ms-management-activity-auth-reset and authorize again.")
	}

	// 3. The API.
	c, err := newActivityClient(ctx, env, 0)
	if err != nil {
		return nil, fmt.Errorf("step 3 of 3 (calling the API) failed: %w", err)
	}
	subs, err := c.ListSubscriptions(ctx)
	if err != nil {
		return nil, inSentence("step 3 of 3 (listing subscriptions) failed: ", err, "Check base_url, the app's ActivityFeed.Read permission and the tenant.")
	}
	if d, ok := clockSkew(c); ok && (d > testModuleMaxSkew || d < -testModuleMaxSkew) {
		return nil, fmt.Errorf("step 3 of 3 (the clock) failed: %s. Fetching loses nothing to it, but Microsoft Entra ID checks token and certificate times with about %s of tolerance: set the engine's time right (NTP) and test again.", fetch.SkewMessage(d), humanMinutes(testModuleMaxSkew))
	}
	if p.IsFetch && len(fetchTypes) > 0 {
		enabled := map[string]bool{}
		for _, s := range subs {
			if s.Enabled() {
				enabled[strings.ToLower(s.ContentType)] = true
			}
		}
		var missing []string
		for _, ct := range fetchTypes {
			if !enabled[strings.ToLower(ct)] {
				missing = append(missing, ct)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("step 3 of 3 (subscriptions) failed: fetching is on for %s but there is no enabled subscription; run ms-management-activity-start-subscription content_type=%s (content can take up to 12 hours to appear).", strings.Join(missing, ", "), missing[0])
		}
	}
	// A smaller skew passes: XSOAR reads a bare "ok", so the skew
	// (fetching takes its times from the API anyway) goes to stderr.
	if d, ok := clockSkew(c); ok && (d >= fetch.SkewWarning || d <= -fetch.SkewWarning) {
		env.Logger.Warn(fetch.SkewMessage(d) + "; test-module fails above " + humanMinutes(testModuleMaxSkew))
	}
	return &Result{Entries: []xcontext.Entry{xcontext.Text("ok")}}, nil
}

// inSentence is err said between prefix and advice: "<prefix><err's
// message, without its final period>. <advice>" ("? <advice>" after a
// question). err stays in the chain: errors.As still finds what failed (a
// params.Error, for the command line's hint).
func inSentence(prefix string, err error, advice string) error {
	return &sentenceError{prefix, err, advice}
}

type sentenceError struct {
	prefix string
	err    error
	advice string
}

func (e *sentenceError) Error() string {
	msg := strings.TrimRight(e.err.Error(), ". ")
	if !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, "!") {
		msg += "."
	}
	return e.prefix + msg + " " + e.advice
}

func (e *sentenceError) Unwrap() error { return e.err }
