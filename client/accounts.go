package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboard-chat/switchboard/wire"
)

// Me returns the caller's own account (GET /v1/users/me), with its role.
func (c *Client) Me(ctx context.Context) (wire.User, error) {
	var out wire.UserResponse
	err := c.call(ctx, http.MethodGet, "/v1/users/me", nil, &out)
	return out.User, err
}

// UpdateProfile changes the caller's display name and avatar (PATCH
// /v1/users/me); nil fields stay as they are.
func (c *Client) UpdateProfile(ctx context.Context, req wire.ProfileRequest) (wire.User, error) {
	var out wire.UserResponse
	err := c.call(ctx, http.MethodPatch, "/v1/users/me", req, &out)
	return out.User, err
}

// ChangePassword sets a new password (PUT /v1/users/me/password); every
// other session of the user ends.
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	return c.call(ctx, http.MethodPut, "/v1/users/me/password", wire.PasswordRequest{Current: current, New: next}, nil)
}

// Sessions lists the caller's sessions (GET /v1/sessions).
func (c *Client) Sessions(ctx context.Context) ([]wire.Session, error) {
	var out wire.SessionsResponse
	err := c.call(ctx, http.MethodGet, "/v1/sessions", nil, &out)
	return out.Sessions, err
}

// RevokeSession ends one of the caller's sessions (DELETE /v1/sessions/{id}).
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/v1/sessions/"+esc(id), nil, nil)
}

// DeleteAccount deletes the caller's account (DELETE /v1/users/me).
func (c *Client) DeleteAccount(ctx context.Context, password string) error {
	return c.call(ctx, http.MethodDelete, "/v1/users/me", wire.DeleteAccountRequest{Password: password}, nil)
}

// Export opens the caller's data export, a zip (GET /v1/users/me/export);
// the caller closes the body.
func (c *Client) Export(ctx context.Context) (*http.Response, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/users/me/export", nil)
	if err != nil {
		return nil, err
	}
	return c.do(req)
}

// AdminUsers searches users (GET /v1/admin/users); admins only.
func (c *Client) AdminUsers(ctx context.Context, query, after string, limit int) ([]wire.User, error) {
	q := url.Values{}
	if query != "" {
		q.Set("q", query)
	}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out wire.UsersResponse
	err := c.call(ctx, http.MethodGet, "/v1/admin/users?"+q.Encode(), nil, &out)
	return out.Users, err
}

// Suspend suspends a user, or lifts it with suspended false; admins only.
func (c *Client) Suspend(ctx context.Context, username string, suspended bool) (wire.User, error) {
	method := http.MethodPost
	if !suspended {
		method = http.MethodDelete
	}
	var out wire.UserResponse
	err := c.call(ctx, method, "/v1/admin/users/"+esc(username)+"/suspend", nil, &out)
	return out.User, err
}

// ForceLogout ends every session of a user; admins only.
func (c *Client) ForceLogout(ctx context.Context, username string) (int, error) {
	var out wire.LogoutResponse
	err := c.call(ctx, http.MethodPost, "/v1/admin/users/"+esc(username)+"/logout", nil, &out)
	return out.SessionsEnded, err
}

// AdminDeleteMessage removes a message's text and media; admins only.
func (c *Client) AdminDeleteMessage(ctx context.Context, convID string, seq int64, reason string) (wire.Message, error) {
	var out wire.MessageResponse
	path := "/v1/admin/conversations/" + esc(convID) + "/messages/" + strconv.FormatInt(seq, 10)
	if reason != "" {
		path += "?reason=" + url.QueryEscape(reason)
	}
	err := c.call(ctx, http.MethodDelete, path, nil, &out)
	return out.Message, err
}

// AdminDeleteGroup removes a group with its messages; admins only.
func (c *Client) AdminDeleteGroup(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, "/v1/admin/groups/"+esc(name), nil, nil)
}

// Stats returns node and cluster figures (GET /v1/admin/stats); admins only.
func (c *Client) Stats(ctx context.Context) (wire.StatsResponse, error) {
	var out wire.StatsResponse
	err := c.call(ctx, http.MethodGet, "/v1/admin/stats", nil, &out)
	return out, err
}

// Audit lists the audit log newest first (GET /v1/admin/audit); admins only.
func (c *Client) Audit(ctx context.Context, before string, limit int) ([]wire.AuditEntry, error) {
	q := url.Values{}
	if before != "" {
		q.Set("before", before)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out wire.AuditResponse
	err := c.call(ctx, http.MethodGet, "/v1/admin/audit?"+q.Encode(), nil, &out)
	return out.Entries, err
}
