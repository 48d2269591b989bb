package main

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"
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

// newRedisClient returns the client for --redis: a plain client for a
// redis:// or rediss:// URL, or a Sentinel failover client (which follows
// the master through failovers) for a redis-sentinel:// URL.
func newRedisClient(raw string) (*goredis.Client, error) {
	if !strings.HasPrefix(raw, sentinelScheme+"://") {
		opt, err := goredis.ParseURL(raw)
		if err != nil {
			return nil, err
		}
		return goredis.NewClient(opt), nil
	}
	opt, err := parseSentinelURL(raw)
	if err != nil {
		return nil, err
	}
	return goredis.NewFailoverClient(opt), nil
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
	for _, hp := range strings.Split(u.Host, ",") {
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("sentinel address %q: want HOST:PORT", hp)
		}
		opt.SentinelAddrs = append(opt.SentinelAddrs, hp)
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
