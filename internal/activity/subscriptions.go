package activity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Subscription is one entry of subscriptions/list (or the answer of start).
type Subscription struct {
	ContentType string          `json:"contentType"`
	Status      string          `json:"status"`
	Webhook     json.RawMessage `json:"webhook,omitempty"`
}

// Enabled reports whether the subscription's status is "enabled".
func (s Subscription) Enabled() bool { return s.Status == "enabled" }

// ListSubscriptions returns every subscription of the tenant, in the API's
// order.
func (c *Client) ListSubscriptions(ctx context.Context) ([]Subscription, error) {
	var subs []Subscription
	err := c.do(ctx, &call{op: "list subscriptions", method: http.MethodGet, path: "subscriptions/list"}, func(resp *http.Response) error {
		return decodeJSONBody(resp, &subs, "list subscriptions")
	})
	return subs, err
}

// StartSubscription starts the subscription to a content type. Starting an
// enabled subscription fails with an *APIError of code CodeAlreadyEnabled
// (AF20024), which callers usually treat as success.
func (c *Client) StartSubscription(ctx context.Context, contentType string) (Subscription, error) {
	return c.subscription(ctx, "start", contentType)
}

// StopSubscription stops the subscription to a content type. Content
// available while stopped can never be retrieved later.
func (c *Client) StopSubscription(ctx context.Context, contentType string) (Subscription, error) {
	return c.subscription(ctx, "stop", contentType)
}

func (c *Client) subscription(ctx context.Context, op, contentType string) (Subscription, error) {
	var sub Subscription
	cl := &call{
		op: op + " subscription", contentType: contentType, method: http.MethodPost,
		path: "subscriptions/" + op, query: url.Values{"contentType": {contentType}},
	}
	err := c.do(ctx, cl, func(resp *http.Response) error {
		// Stop answers with an empty body; start with the subscription.
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil {
			return &readError{err}
		}
		if len(data) > 0 && json.Unmarshal(data, &sub) != nil {
			sub = Subscription{}
		}
		return nil
	})
	return sub, err
}

// maxSmallBody caps the answers that are small by nature (subscriptions).
const maxSmallBody = 16 << 20

// decodeJSONBody decodes a small JSON answer.
func decodeJSONBody(resp *http.Response, v any, op string) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSmallBody+1))
	if err != nil {
		return &readError{err}
	}
	if len(data) > maxSmallBody {
		return fmt.Errorf("%s: the API's answer is larger than %s (decoded); a subscription list is a few hundred bytes: check base_url and any proxy in between", op, mib(maxSmallBody))
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: the API answered HTTP %d with a body that is not the expected JSON: %v", op, resp.StatusCode, err)
	}
	return nil
}
