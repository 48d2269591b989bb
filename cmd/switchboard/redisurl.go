package main

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/redis"
)

// sentinelScheme is the --redis form that names Redis Sentinels instead of
// a Redis server:
//
//	redis-sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[?db=N&sentinel_password=P]
//
// HOST:PORT are sentinels (any subset of them will do; the client learns
// the others), MASTER is the name the sentinels monitor, PASSWORD is the
// Redis servers' password and sentinel_password the sentinels' own.
const sentinelScheme = "redis-sentinel"

// clusterScheme is the --redis form that names nodes of a Redis Cluster:
//
//	redis-cluster://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]
//
// HOST:PORT are cluster nodes, masters or replicas (any subset will do; the
// client learns the others and which master serves which slot). A cluster
// has no database numbers, so there is no path.
const clusterScheme = "redis-cluster"

// newRedisClient returns the client for --redis: a plain client for a
// redis:// or rediss:// URL, a Sentinel failover client (which follows
// the master through failovers) for a redis-sentinel:// URL, or a cluster
// client for a redis-cluster:// URL (which follows failovers too; see
// redis.NewClusterClient).
func newRedisClient(raw string) (goredis.UniversalClient, error) {
	switch {
	case strings.HasPrefix(raw, sentinelScheme+"://"):
		opt, err := parseSentinelURL(raw)
		if err != nil {
			return nil, err
		}
		return goredis.NewFailoverClient(opt), nil
	case strings.HasPrefix(raw, clusterScheme+"://"):
		opt, err := parseClusterURL(raw)
		if err != nil {
			return nil, err
		}
		return redis.NewClusterClient(opt), nil
	}
	opt, err := goredis.ParseURL(raw)
	if err != nil {
		return nil, err
	}
	return goredis.NewClient(opt), nil
}

// parseClusterURL parses the redis-cluster:// form (see clusterScheme).
func parseClusterURL(raw string) (*goredis.ClusterOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != clusterScheme {
		return nil, fmt.Errorf("scheme %q, want %s://", u.Scheme, clusterScheme)
	}
	if strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("%s://HOSTS: a cluster has no database, got path %q", clusterScheme, u.Path)
	}
	if len(u.Query()) > 0 {
		return nil, fmt.Errorf("%s://HOSTS: unknown parameters %q", clusterScheme, u.RawQuery)
	}
	opt := &goredis.ClusterOptions{}
	addrs, err := hostPorts(u.Host, "cluster node")
	if err != nil {
		return nil, err
	}
	opt.Addrs = addrs
	if u.User != nil {
		opt.Username = u.User.Username()
		opt.Password, _ = u.User.Password()
	}
	return opt, nil
}

// hostPorts splits a comma-separated list of HOST:PORT.
func hostPorts(list, what string) ([]string, error) {
	var out []string
	for _, hp := range strings.Split(list, ",") {
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("%s address %q: want HOST:PORT", what, hp)
		}
		out = append(out, hp)
	}
	return out, nil
}

// parseSentinelURL parses the redis-sentinel:// form (see sentinelScheme).
func parseSentinelURL(raw string) (*goredis.FailoverOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != sentinelScheme {
		return nil, fmt.Errorf("scheme %q, want %s://", u.Scheme, sentinelScheme)
	}
	opt := &goredis.FailoverOptions{MasterName: strings.Trim(u.Path, "/")}
	if opt.MasterName == "" || strings.Contains(opt.MasterName, "/") {
		return nil, fmt.Errorf("%s://HOSTS/MASTER: want one master name as the path, got %q", sentinelScheme, u.Path)
	}
	if opt.SentinelAddrs, err = hostPorts(u.Host, "sentinel"); err != nil {
		return nil, err
	}
	if u.User != nil {
		opt.Username = u.User.Username()
		opt.Password, _ = u.User.Password()
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "db":
			if opt.DB, err = strconv.Atoi(v); err != nil || opt.DB < 0 {
				return nil, fmt.Errorf("db=%q: want a database number", v)
			}
		case "sentinel_password":
			opt.SentinelPassword = v
		default:
			return nil, fmt.Errorf("unknown parameter %q (known: db, sentinel_password)", k)
		}
	}
	return opt, nil
}
