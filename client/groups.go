package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboard-chat/switchboard/wire"
)

// CreateGroupWith creates a group with the settings in req (POST
// /v1/groups): visibility public or private, history all or since_join. The
// caller is its owner.
func (c *Client) CreateGroupWith(ctx context.Context, req wire.GroupRequest) (wire.Conversation, error) {
	var out wire.ConversationResponse
	err := c.call(ctx, http.MethodPost, "/v1/groups", req, &out)
	return out.Conversation, err
}

// EditGroup changes the non-nil fields of p (PATCH /v1/groups/{name});
// admins only.
func (c *Client) EditGroup(ctx context.Context, name string, p wire.GroupPatch) (wire.Conversation, error) {
	var out wire.ConversationResponse
	err := c.call(ctx, http.MethodPatch, "/v1/groups/"+esc(name), p, &out)
	return out.Conversation, err
}

// DeleteGroup deletes a group and its history (DELETE /v1/groups/{name});
// the owner only.
func (c *Client) DeleteGroup(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, "/v1/groups/"+esc(name), nil, nil)
}

// AddMember adds a user to a group (POST /v1/groups/{name}/members with
// {"username"}); admins only.
func (c *Client) AddMember(ctx context.Context, name, username string) (wire.Conversation, error) {
	var out wire.ConversationResponse
	err := c.call(ctx, http.MethodPost, "/v1/groups/"+esc(name)+"/members", wire.AddMemberRequest{Username: username}, &out)
	return out.Conversation, err
}

// RemoveMember removes a member (DELETE /v1/groups/{name}/members/{username});
// admins only, and not the owner.
func (c *Client) RemoveMember(ctx context.Context, name, username string) error {
	return c.call(ctx, http.MethodDelete, "/v1/groups/"+esc(name)+"/members/"+esc(username), nil, nil)
}

// SetRole gives a member a role: member, admin or owner (which transfers
// ownership) (PUT /v1/groups/{name}/members/{username}/role); the owner only.
func (c *Client) SetRole(ctx context.Context, name, username, role string) (wire.Conversation, error) {
	var out wire.ConversationResponse
	err := c.call(ctx, http.MethodPut, "/v1/groups/"+esc(name)+"/members/"+esc(username)+"/role", wire.RoleRequest{Role: role}, &out)
	return out.Conversation, err
}

// Ban removes a user from a group and keeps it out (POST
// /v1/groups/{name}/bans); admins only.
func (c *Client) Ban(ctx context.Context, name, username string) error {
	return c.call(ctx, http.MethodPost, "/v1/groups/"+esc(name)+"/bans", wire.BanRequest{Username: username}, nil)
}

// Unban lifts a ban (DELETE /v1/groups/{name}/bans/{username}); admins only.
func (c *Client) Unban(ctx context.Context, name, username string) error {
	return c.call(ctx, http.MethodDelete, "/v1/groups/"+esc(name)+"/bans/"+esc(username), nil, nil)
}

// Bans lists a group's banned users (GET /v1/groups/{name}/bans); admins
// only.
func (c *Client) Bans(ctx context.Context, name string) ([]wire.Ban, error) {
	var out wire.BansResponse
	err := c.call(ctx, http.MethodGet, "/v1/groups/"+esc(name)+"/bans", nil, &out)
	return out.Bans, err
}

// SearchGroups lists public groups whose name or title contains q, most
// members first (GET /v1/groups?q=); limit 0 takes the server's default.
func (c *Client) SearchGroups(ctx context.Context, q string, limit int) ([]wire.Conversation, error) {
	v := url.Values{"q": {q}}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out wire.GroupsResponse
	err := c.call(ctx, http.MethodGet, "/v1/groups?"+v.Encode(), nil, &out)
	return out.Groups, err
}

// Block blocks a user (PUT /v1/blocks/{username}): it can no longer send
// the caller direct messages nor see its presence.
func (c *Client) Block(ctx context.Context, username string) error {
	return c.call(ctx, http.MethodPut, "/v1/blocks/"+esc(username), nil, nil)
}

// Unblock lifts a block (DELETE /v1/blocks/{username}).
func (c *Client) Unblock(ctx context.Context, username string) error {
	return c.call(ctx, http.MethodDelete, "/v1/blocks/"+esc(username), nil, nil)
}

// Blocks lists the users the caller blocks (GET /v1/blocks).
func (c *Client) Blocks(ctx context.Context) ([]wire.User, error) {
	var out wire.BlocksResponse
	err := c.call(ctx, http.MethodGet, "/v1/blocks", nil, &out)
	return out.Blocks, err
}
