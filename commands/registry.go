package commands

import "github.com/secops-go/ms-management-activity/internal/spec"

// Command names (their one source is internal/spec, which auth's messages
// use too).
const (
	CmdTestModule        = spec.CmdTestModule
	CmdFetchIncidents    = spec.CmdFetchIncidents
	CmdStartSubscription = spec.CmdStartSubscription
	CmdStopSubscription  = spec.CmdStopSubscription
	CmdListSubscriptions = spec.CmdListSubscriptions
	CmdListContent       = spec.CmdListContent
	CmdGenerateLoginURL  = spec.CmdGenerateLoginURL
	CmdAuthReset         = spec.CmdAuthReset
	CmdSearchRecords     = spec.CmdSearchRecords
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
		CmdSearchRecords:     searchRecords,
	}
}
