package chat

import "context"

type peerKey struct{}

// WithPeer returns ctx carrying the network address a request came from
// (a host, without port). The rules key their abuse brakes on it.
func WithPeer(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, peerKey{}, addr)
}

// Peer returns the address WithPeer put in ctx, or "".
func Peer(ctx context.Context) string {
	p, _ := ctx.Value(peerKey{}).(string)
	return p
}
