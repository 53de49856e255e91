package commands

import (
	"context"
	"strings"
	"time"

	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/activity"
)

// subscriptionDeadline bounds the subscription commands and test-module, so
// they never hang even when every request is slow but within its own
// timeout.
const subscriptionDeadline = 2 * time.Minute

// startSubscription is ms-management-activity-start-subscription.
func startSubscription(ctx context.Context, env *Env) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, subscriptionDeadline)
	defer cancel()
	ct, c, err := subscriptionClient(ctx, env)
	if err != nil {
		return nil, err
	}
	if _, err := c.StartSubscription(ctx, ct); err != nil {
		// AF20024: starting an enabled subscription is a success for the user.
		if activity.ErrorCode(err) == activity.CodeAlreadyEnabled || strings.Contains(err.Error(), "already enabled") {
			return &Result{Entries: []xcontext.Entry{xcontext.Text("The subscription is already enabled.")}}, nil
		}
		return nil, err
	}
	return subscriptionResult("Successfully started subscription to content type: "+ct, ct, true), nil
}

// stopSubscription is ms-management-activity-stop-subscription.
func stopSubscription(ctx context.Context, env *Env) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, subscriptionDeadline)
	defer cancel()
	ct, c, err := subscriptionClient(ctx, env)
	if err != nil {
		return nil, err
	}
	if _, err := c.StopSubscription(ctx, ct); err != nil {
		// AF20022: there is nothing to stop, which is what the user wants.
		if activity.ErrorCode(err) == activity.CodeNoSubscription {
			return &Result{Entries: []xcontext.Entry{xcontext.Text("There is no subscription to content type " + ct + ", so there is nothing to stop.")}}, nil
		}
		return nil, err
	}
	return subscriptionResult("Successfully stopped subscription to content type: "+ct, ct, false), nil
}

// subscriptionClient reads start/stop's content_type argument and builds
// the API client.
func subscriptionClient(ctx context.Context, env *Env) (string, *activity.Client, error) {
	ct, err := contentTypeArg(env)
	if err != nil {
		return "", nil, err
	}
	c, err := newActivityClient(ctx, env, 0)
	return ct, c, err
}

func subscriptionResult(hr, ct string, enabled bool) *Result {
	outputs := map[string]any{xcontext.SubscriptionKey: map[string]any{"ContentType": ct, "Enabled": enabled}}
	return &Result{Entries: []xcontext.Entry{xcontext.Note(map[string]any{}, hr, outputs)}}
}

// listSubscriptions is ms-management-activity-list-subscriptions: the
// enabled subscriptions, in the API's order.
func listSubscriptions(ctx context.Context, env *Env) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, subscriptionDeadline)
	defer cancel()
	c, err := newActivityClient(ctx, env, 0)
	if err != nil {
		return nil, err
	}
	subs, err := c.ListSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	types := []string{}
	list := []any{}
	for _, s := range subs {
		if s.Enabled() {
			types = append(types, s.ContentType)
			list = append(list, map[string]any{"ContentType": s.ContentType, "Enabled": true})
		}
	}
	hr := xcontext.StringsTable("Current Subscriptions", types, "Current Subscriptions")
	entry := xcontext.Note(list, hr, map[string]any{xcontext.SubscriptionKey: list})
	return &Result{Entries: []xcontext.Entry{entry}}, nil
}
