package commands

import (
	"context"

	xcontext "github.com/secops-go/ms-management-activity/context"
)

// AuthResetMessage is auth-reset's answer, the reference's wording.
const AuthResetMessage = "Authorization was reset successfully. Please regenerate the credentials, and then click **Test** to validate the credentials and connection."

// authReset clears the whole integrationContext: cached tokens, MSAL's
// cache, the redeemed-code marker, the broker back-off. It asks for no token
// first, so it works exactly when the stored token or credentials are
// broken (the reference's bug before 1.3.71).
func authReset(_ context.Context, env *Env) (*Result, error) {
	env.Context.Reset()
	return &Result{Entries: []xcontext.Entry{xcontext.Markdown(AuthResetMessage)}}, nil
}
