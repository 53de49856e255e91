package commands

import (
	"context"

	"github.com/secops-go/ms-management-activity/auth"
)

// defaultTokenSource is the production token source factory: the flow the
// params select, with its cache in the run's integrationContext and every
// request through the run's HTTP client.
func defaultTokenSource(ctx context.Context, env *Env) (auth.TokenSource, error) {
	cfg := auth.Config{
		Params: env.Params,
		Store:  env.Context,
		HTTP:   env.HTTP,
		Clock:  env.Clock,
		Logger: env.Logger,
	}
	if env.Secrets != nil {
		cfg.Secrets = env.Secrets
	}
	return auth.New(ctx, cfg)
}
