package main

import (
	"context"

	"github.com/switchboard-chat/switchboard/internal/redis"
	"github.com/switchboard-chat/switchboard/wire"
)

// nodeStats lists the cluster's live nodes with their connection counts
// from the registry, or this node alone without one.
func (c *cluster) nodeStats(ctx context.Context, self redis.NodeInfo) ([]wire.NodeStats, error) {
	if c.registry == nil {
		return []wire.NodeStats{{ID: self.ID, URL: self.URL, Connections: self.Conns}}, nil
	}
	nodes, err := c.registry.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]wire.NodeStats, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, wire.NodeStats{ID: n.ID, URL: n.URL, Connections: n.Conns})
	}
	return out, nil
}
