package commands

import (
	"context"
	"fmt"
)

// Command names.
const (
	CmdTestModule        = "test-module"
	CmdFetchIncidents    = "fetch-incidents"
	CmdStartSubscription = "ms-management-activity-start-subscription"
	CmdStopSubscription  = "ms-management-activity-stop-subscription"
	CmdListSubscriptions = "ms-management-activity-list-subscriptions"
	CmdListContent       = "ms-management-activity-list-content"
	CmdGenerateLoginURL  = "ms-management-activity-generate-login-url"
	CmdAuthReset         = "ms-management-activity-auth-reset"
)

// Registry maps every command name to its handler. It returns a new map each
// time, so callers may modify it (tests swap handlers).
func Registry() map[string]Handler {
	return map[string]Handler{
		CmdTestModule:        testModule,
		CmdFetchIncidents:    fetchIncidents,
		CmdStartSubscription: startSubscription,
		CmdStopSubscription:  stopSubscription,
		CmdListSubscriptions: listSubscriptions,
		CmdListContent:       listContent,
		CmdGenerateLoginURL:  generateLoginURL,
		CmdAuthReset:         authReset,
	}
}

func notImplemented(_ context.Context, env *Env) (*Result, error) {
	return nil, fmt.Errorf("%s is not implemented yet", env.Command)
}
