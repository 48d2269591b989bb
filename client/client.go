// Package client is the Go client of Switchboard: typed calls for the HTTP
// API and a WebSocket connection (Conn) that matches each request with its
// ack and hands pushed frames to the caller. End-to-end tests, the load
// generator and the command line use it. The wire shapes come from package
// wire; docs/protocol.md describes the protocol.
//
// A Client is safe for concurrent use. It holds one session token at a
// time; use WithToken to act as several users over one http.Client.
package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/segmentio/encoding/json"
)

// Client calls one Switchboard deployment (a node or a load balancer).
type Client struct {
	base string // without a trailing slash
	http *http.Client

	mu    sync.RWMutex
	token string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its HTTP requests with hc. When hc's
// transport is an *http.Transport, Dial also uses its TLS configuration.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithSessionToken starts the Client with a session token, as if Login had
// returned it.
func WithSessionToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// New returns a Client for the deployment at baseURL, e.g.
// "http://127.0.0.1:8080". The default http.Client is http.DefaultClient.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), http: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL returns the URL the Client was made with, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Token returns the current session token, or "" when there is none.
func (c *Client) Token() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token
}

// SetToken replaces the session token.
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

// WithToken returns a new Client for the same deployment and http.Client
// that uses token. The receiver is unchanged.
func (c *Client) WithToken(token string) *Client {
	return &Client{base: c.base, http: c.http, token: token}
}

// call sends an HTTP request and decodes a 2xx JSON answer into out (which
// may be nil). A non-2xx answer becomes an *Error.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	if err := decodeJSON(resp.Body, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// decodeJSON decodes one JSON answer into out.
func decodeJSON(r io.Reader, out any) error {
	if err := json.NewDecoder(r).Decode(out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if t := c.Token(); t != "" {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	return req, nil
}

// do sends req and turns a non-2xx answer into an *Error (closing its body).
func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, responseError(resp)
	}
	return resp, nil
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }
