package client

import (
	"context"
	"net/http"

	"github.com/switchboard-chat/switchboard/wire"
)

// PushKey returns the server's VAPID public key to subscribe with
// (GET /v1/push/key); the server must run with --push.
func (c *Client) PushKey(ctx context.Context) (string, error) {
	var out wire.PushKeyResponse
	err := c.call(ctx, http.MethodGet, "/v1/push/key", nil, &out)
	return out.PublicKey, err
}

// SubscribePush registers a Web Push subscription for this user
// (POST /v1/push/subscriptions): the endpoint of a push service and the
// user agent's keys, as a browser's PushSubscription gives them.
func (c *Client) SubscribePush(ctx context.Context, sub wire.PushSubscription) error {
	return c.call(ctx, http.MethodPost, "/v1/push/subscriptions", sub, nil)
}

// UnsubscribePush removes a subscription (DELETE /v1/push/subscriptions).
func (c *Client) UnsubscribePush(ctx context.Context, endpoint string) error {
	return c.call(ctx, http.MethodDelete, "/v1/push/subscriptions", wire.PushUnsubscribe{Endpoint: endpoint}, nil)
}

// SetNotification sets which messages of a conversation are pushed to this
// user: level "all", "mentions" or "none", and mutedUntil (Unix ms, 0 for
// none) (PUT /v1/conversations/{id}/notifications).
func (c *Client) SetNotification(ctx context.Context, convID, level string, mutedUntil int64) (wire.NotificationSetting, error) {
	var out wire.NotificationSetting
	err := c.call(ctx, http.MethodPut, "/v1/conversations/"+esc(convID)+"/notifications", wire.NotificationSetting{Level: level, MutedUntil: mutedUntil}, &out)
	return out, err
}

// Notification returns this user's setting in a conversation.
func (c *Client) Notification(ctx context.Context, convID string) (wire.NotificationSetting, error) {
	var out wire.NotificationSetting
	err := c.call(ctx, http.MethodGet, "/v1/conversations/"+esc(convID)+"/notifications", nil, &out)
	return out, err
}

// EventsTicket returns a single-use ticket for the Server-Sent Events
// stream, GET /v1/events?ticket=... (POST /v1/events/tickets), so no
// long-lived token goes in a URL.
func (c *Client) EventsTicket(ctx context.Context) (wire.TicketResponse, error) {
	var out wire.TicketResponse
	err := c.call(ctx, http.MethodPost, "/v1/events/tickets", nil, &out)
	return out, err
}
