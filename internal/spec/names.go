package spec

// Command names, as integration.yml declares them (commands' yaml test
// checks that every one is declared). They live here, in a leaf package, so
// that both the dispatcher and the packages whose messages name a command
// (auth: "run the ***...-auth-reset*** command") use one spelling.
const (
	CmdTestModule        = "test-module"
	CmdFetchIncidents    = "fetch-incidents"
	CmdStartSubscription = "ms-management-activity-start-subscription"
	CmdStopSubscription  = "ms-management-activity-stop-subscription"
	CmdListSubscriptions = "ms-management-activity-list-subscriptions"
	CmdListContent       = "ms-management-activity-list-content"
	CmdGenerateLoginURL  = "ms-management-activity-generate-login-url"
	CmdAuthReset         = "ms-management-activity-auth-reset"
	CmdSearchRecords     = "ms-management-activity-search-records"
)
