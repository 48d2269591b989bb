package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboard-chat/switchboard/wire"
)

// SearchQuery selects a page of search results. Zero fields are left out.
type SearchQuery struct {
	Text         string
	Conversation string // only this conversation
	Before       string // only messages older than this message id (the last of the previous page)
	Limit        int    // the server allows at most 100
}

// Search finds the messages the caller may read that hold every word of
// q.Text, newest first (GET /v1/search).
func (c *Client) Search(ctx context.Context, q SearchQuery) ([]wire.Message, error) {
	v := url.Values{"q": {q.Text}}
	if q.Conversation != "" {
		v.Set("conversation", q.Conversation)
	}
	if q.Before != "" {
		v.Set("before", q.Before)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out wire.SearchResponse
	if err := c.call(ctx, http.MethodGet, "/v1/search?"+v.Encode(), nil, &out); err != nil {
		return nil, err
	}
	ms := make([]wire.Message, len(out.Results))
	for i, r := range out.Results {
		ms[i] = r.Message
	}
	return ms, nil
}

// Pins returns a conversation's pinned messages in seq order
// (GET /v1/conversations/{id}/pins).
func (c *Client) Pins(ctx context.Context, convID string) ([]wire.Message, error) {
	var out wire.MessagesResponse
	err := c.call(ctx, http.MethodGet, "/v1/conversations/"+esc(convID)+"/pins", nil, &out)
	return out.Messages, err
}
