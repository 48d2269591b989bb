package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboard-chat/switchboard/wire"
)

// Signup creates an account (POST /v1/users). A taken username is an
// *Error with code conflict.
func (c *Client) Signup(ctx context.Context, username, password, displayName string) (wire.User, error) {
	var out wire.UserResponse
	err := c.call(ctx, http.MethodPost, "/v1/users",
		wire.SignupRequest{Username: username, Password: password, DisplayName: displayName}, &out)
	return out.User, err
}

// Login opens a session (POST /v1/sessions) and makes its token the
// Client's token. Bad credentials are an *Error with code unauthorized.
func (c *Client) Login(ctx context.Context, username, password string) (wire.LoginResponse, error) {
	var out wire.LoginResponse
	err := c.call(ctx, http.MethodPost, "/v1/sessions",
		wire.LoginRequest{Username: username, Password: password}, &out)
	if err != nil {
		return wire.LoginResponse{}, err
	}
	c.SetToken(out.Token)
	return out, nil
}

// Logout ends the current session on every node (DELETE
// /v1/sessions/current) and clears the Client's token.
func (c *Client) Logout(ctx context.Context) error {
	if err := c.call(ctx, http.MethodDelete, "/v1/sessions/current", nil, nil); err != nil {
		return err
	}
	c.SetToken("")
	return nil
}

// User looks a user up by username (GET /v1/users/{username}); the answer
// carries online and last_seen.
func (c *Client) User(ctx context.Context, username string) (wire.User, error) {
	var out wire.UserResponse
	err := c.call(ctx, http.MethodGet, "/v1/users/"+esc(username), nil, &out)
	return out.User, err
}

// CreateGroup creates a group with the caller as its first member (POST
// /v1/groups). A taken name is an *Error with code conflict.
func (c *Client) CreateGroup(ctx context.Context, name, title string) (wire.Conversation, error) {
	var out wire.ConversationResponse
	err := c.call(ctx, http.MethodPost, "/v1/groups", wire.GroupRequest{Name: name, Title: title}, &out)
	return out.Conversation, err
}

// JoinGroup adds the caller to a group (POST /v1/groups/{name}/members).
func (c *Client) JoinGroup(ctx context.Context, name string) (wire.Conversation, error) {
	var out wire.ConversationResponse
	err := c.call(ctx, http.MethodPost, "/v1/groups/"+esc(name)+"/members", struct{}{}, &out)
	return out.Conversation, err
}

// LeaveGroup removes the caller from a group (DELETE
// /v1/groups/{name}/members/me).
func (c *Client) LeaveGroup(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, "/v1/groups/"+esc(name)+"/members/me", nil, nil)
}

// Members lists a group's members (GET /v1/groups/{name}/members); only
// members may ask.
func (c *Client) Members(ctx context.Context, name string) ([]wire.Member, error) {
	var out wire.MembersResponse
	err := c.call(ctx, http.MethodGet, "/v1/groups/"+esc(name)+"/members", nil, &out)
	return out.Members, err
}

// ConversationMembers lists the members of any conversation the caller is
// in, with their online state and delivered/read positions
// (GET /v1/conversations/{id}/members): what a client draws ticks from
// after a reload.
func (c *Client) ConversationMembers(ctx context.Context, convID string) ([]wire.Member, error) {
	var out wire.MembersResponse
	err := c.call(ctx, http.MethodGet, "/v1/conversations/"+esc(convID)+"/members", nil, &out)
	return out.Members, err
}

// Conversations lists the caller's conversations with their positions
// (GET /v1/conversations).
func (c *Client) Conversations(ctx context.Context) ([]wire.Conversation, error) {
	var out wire.ConversationsResponse
	err := c.call(ctx, http.MethodGet, "/v1/conversations", nil, &out)
	return out.Conversations, err
}

// HistoryQuery selects a page of history. Zero fields are left out: no
// Before, no After and no Forward asks for the latest page; Limit 0 takes
// the server's default (the server allows at most 200).
type HistoryQuery struct {
	Before int64 // only messages with seq < Before
	After  int64 // only messages with seq > After
	// Forward sends After even when it is 0: the oldest page, from seq 1.
	// An After above 0 pages forward without it.
	Forward bool
	Limit   int
}

// Messages returns a page of a conversation's history in ascending seq
// order (GET /v1/conversations/{id}/messages). Non-members get an *Error
// with code forbidden.
func (c *Client) Messages(ctx context.Context, convID string, q HistoryQuery) ([]wire.Message, error) {
	v := url.Values{}
	if q.Before > 0 {
		v.Set("before", strconv.FormatInt(q.Before, 10))
	}
	if q.After > 0 || q.Forward {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/v1/conversations/" + esc(convID) + "/messages"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out wire.MessagesResponse
	err := c.call(ctx, http.MethodGet, path, nil, &out)
	return out.Messages, err
}

// Discover asks which node to open a WebSocket to (GET /v1/discover). Pass
// its WSURL to DialURL.
func (c *Client) Discover(ctx context.Context) (wire.DiscoverResponse, error) {
	var out wire.DiscoverResponse
	err := c.call(ctx, http.MethodGet, "/v1/discover", nil, &out)
	return out, err
}

// UploadMedia stores body as a media object of the given content type (POST
// /v1/media). Send its ID as SendRequest.MediaID. Too large a body is an
// *Error with code too_large.
func (c *Client) UploadMedia(ctx context.Context, contentType string, body io.Reader) (wire.Media, error) {
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/media", body)
	if err != nil {
		return wire.Media{}, err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := c.do(req)
	if err != nil {
		return wire.Media{}, err
	}
	defer resp.Body.Close()
	var out wire.MediaResponse
	if err := decodeJSON(resp.Body, &out); err != nil {
		return wire.Media{}, err
	}
	return out.Media, nil
}

// MediaURL returns the address of a media object (GET /v1/media/{id}).
// Fetching it needs the session token; OpenMedia sends it.
func (c *Client) MediaURL(id string) string {
	return c.base + "/v1/media/" + esc(id)
}

// OpenMedia fetches a media object (GET /v1/media/{id}) with the session
// token. On success the caller reads and closes the response's Body; its
// headers carry Content-Type and the caching headers. Callers who are not
// allowed get an *Error with code forbidden or not_found.
func (c *Client) OpenMedia(ctx context.Context, id string) (*http.Response, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/media/"+esc(id), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Del("Accept")
	return c.do(req)
}
