package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/switchboard-chat/switchboard/internal/blob"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/gateway"
	"github.com/switchboard-chat/switchboard/internal/grapheme"
	"github.com/switchboard-chat/switchboard/internal/httpapi"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/internal/media"
	"github.com/switchboard-chat/switchboard/internal/metrics"
	"github.com/switchboard-chat/switchboard/internal/node"
	"github.com/switchboard-chat/switchboard/internal/password"
	"github.com/switchboard-chat/switchboard/internal/postgres"
	"github.com/switchboard-chat/switchboard/internal/redis"
	"github.com/switchboard-chat/switchboard/internal/sqlite"
	"github.com/switchboard-chat/switchboard/web"
	"github.com/switchboard-chat/switchboard/wire"
)

// serveConfig is everything `switchboard serve` can be told.
type serveConfig struct {
	addr          string
	data          string
	postgres      string
	shards        shardURLs // with --postgres the directory, conversations on these
	redis         string
	redisPrefix   string
	nodeID        string
	publicURL     string
	sendRate      float64
	sendBurst     int
	heartbeat     time.Duration
	presenceGrace time.Duration
	drainTimeout  time.Duration
	authTimeout   time.Duration
	wsEngine      string
	coalesce      time.Duration
	commitWait    time.Duration
	metricsAddr   string
	maxText       int
	largeGroup    int
	reorderWait   time.Duration
	argonMemory   uint
	argonTime     uint
	logLevel      string
	s3Endpoint    string
	s3Bucket      string
	s3AccessKey   string
	s3SecretKey   string
	s3Region      string
	mediaSecret   string
	maxMedia      int64
	signupRate    float64
	signupBurst   int
	hashSlots     int
	maxConns      int
	frameRate     float64
	frameBurst    int
	trusted       string
	mediaLimits   media.Deps // the per-user and decode limits of media (flags below)
	timeouts      serverTimeouts
	push          pushConfig
	sessionTTL    time.Duration
	registryTTL   time.Duration
	tls           tlsSettings
}

// flagSet binds the serve flags; each takes its default from its env twin.
func (c *serveConfig) flagSet(getenv func(string) string, stderr io.Writer) *flag.FlagSet {
	ef := newEnvFlags("serve", getenv, stderr)
	fs, str := ef.FlagSet, ef.str
	str(&c.addr, "addr", "SWITCHBOARD_ADDR", "127.0.0.1:8080", "address to listen on")
	str(&c.data, "data", "SWITCHBOARD_DATA", "./data", "data directory of the embedded SQLite store")
	str(&c.postgres, "postgres", "SWITCHBOARD_POSTGRES", "", "PostgreSQL URL; empty means the embedded SQLite store")
	c.shards.flags(fs, getenv)
	str(&c.redis, "redis", "SWITCHBOARD_REDIS", "", "Redis URL; empty means the in-process bus and presence (a single node)")
	str(&c.redisPrefix, "redis-prefix", "SWITCHBOARD_REDIS_PREFIX", "switchboard", "prefix of every Redis key, so clusters can share one Redis")
	str(&c.nodeID, "node-id", "SWITCHBOARD_NODE_ID", "", "this node's id (default: derived from host name and address)")
	str(&c.publicURL, "public-url", "SWITCHBOARD_PUBLIC_URL", "", "this node's public base URL, which discovery hands out (default: http://ADDR)")
	str(&c.logLevel, "log-level", "SWITCHBOARD_LOG_LEVEL", "info", "debug, info, warn or error")
	str(&c.s3Endpoint, "s3-endpoint", "SWITCHBOARD_S3_ENDPOINT", "", "S3-compatible server for media (http://host:port); empty keeps media in DATA/media")
	str(&c.s3Bucket, "s3-bucket", "SWITCHBOARD_S3_BUCKET", "switchboard-media", "S3 bucket for media")
	str(&c.s3AccessKey, "s3-access-key", "SWITCHBOARD_S3_ACCESS_KEY", "", "S3 access key")
	str(&c.s3SecretKey, "s3-secret-key", "SWITCHBOARD_S3_SECRET_KEY", "", "S3 secret key")
	str(&c.s3Region, "s3-region", "SWITCHBOARD_S3_REGION", "", "S3 region")
	str(&c.mediaSecret, "media-secret", "SWITCHBOARD_MEDIA_SECRET", "", "key that signs media URLs; every node of a cluster must share it (default: random per process)")
	fs.Int64Var(&c.maxMedia, "max-media", int64(envFloat(getenv, "SWITCHBOARD_MAX_MEDIA", media.DefaultMaxSize)), "largest media upload in bytes (env SWITCHBOARD_MAX_MEDIA)")
	fs.IntVar(&c.mediaLimits.MaxUploadsPerHour, "media-uploads-per-hour", int(envFloat(getenv, "SWITCHBOARD_MEDIA_UPLOADS_PER_HOUR", media.DefaultMaxUploadsPerHour)), "uploads per user in any hour; negative turns the cap off (env SWITCHBOARD_MEDIA_UPLOADS_PER_HOUR)")
	fs.Int64Var(&c.mediaLimits.MaxUserBytes, "media-bytes-per-user", int64(envFloat(getenv, "SWITCHBOARD_MEDIA_BYTES_PER_USER", media.DefaultMaxUserBytes)), "bytes of all of a user's uploads; negative turns the cap off (env SWITCHBOARD_MEDIA_BYTES_PER_USER)")
	fs.Int64Var(&c.mediaLimits.DecodeBudget, "media-decode-budget", int64(envFloat(getenv, "SWITCHBOARD_MEDIA_DECODE_BUDGET", media.DefaultDecodeBudget)), "bytes one image may take to decode and thumbnail, estimated from its header (env SWITCHBOARD_MEDIA_DECODE_BUDGET)")
	fs.IntVar(&c.mediaLimits.MaxDecodes, "media-decodes", int(envFloat(getenv, "SWITCHBOARD_MEDIA_DECODES", 0)), "images decoded at once on this node; 0 means half the CPUs, at least 2 (env SWITCHBOARD_MEDIA_DECODES)")
	fs.IntVar(&c.mediaLimits.MaxDecodesPerUser, "media-decodes-per-user", int(envFloat(getenv, "SWITCHBOARD_MEDIA_DECODES_PER_USER", 0)), "images one user may have decoding at once; 0 means half of --media-decodes, at least 1 (env SWITCHBOARD_MEDIA_DECODES_PER_USER)")
	fs.Float64Var(&c.sendRate, "send-rate", envFloat(getenv, "SWITCHBOARD_SEND_RATE", 20), "per-user sends per second; 0 turns the limit off (env SWITCHBOARD_SEND_RATE)")
	fs.Float64Var(&c.signupRate, "signup-rate", envFloat(getenv, "SWITCHBOARD_SIGNUP_RATE", 20), "new accounts per client address per minute, after --signup-burst; 0 turns the limit off, for load tests (env SWITCHBOARD_SIGNUP_RATE)")
	fs.IntVar(&c.signupBurst, "signup-burst", int(envFloat(getenv, "SWITCHBOARD_SIGNUP_BURST", 20)), "new accounts one client address may create at once (env SWITCHBOARD_SIGNUP_BURST)")
	fs.Float64Var(&c.frameRate, "frame-rate", envFloat(getenv, "SWITCHBOARD_FRAME_RATE", 50), "WebSocket frames one connection may send per second after --frame-burst; 0 turns the limit off, for load tests (env SWITCHBOARD_FRAME_RATE)")
	fs.IntVar(&c.frameBurst, "frame-burst", int(envFloat(getenv, "SWITCHBOARD_FRAME_BURST", 200)), "WebSocket frames one connection may send at once (env SWITCHBOARD_FRAME_BURST)")
	fs.IntVar(&c.maxConns, "max-conns-per-user", int(envFloat(getenv, "SWITCHBOARD_MAX_CONNS_PER_USER", 100)), "open WebSocket connections one user may hold over the cluster; one more is refused (env SWITCHBOARD_MAX_CONNS_PER_USER)")
	fs.IntVar(&c.hashSlots, "hash-concurrency", int(envFloat(getenv, "SWITCHBOARD_HASH_CONCURRENCY", 0)), "password hashes computed at once (each takes --argon2-memory); more wait up to 2s, then get 503 with Retry-After (default 2 per CPU) (env SWITCHBOARD_HASH_CONCURRENCY)")
	str(&c.trusted, "trusted-proxies", "SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.0/8,::1/128", "comma-separated CIDRs of balancers whose X-Real-IP or X-Forwarded-For names the client (for per-address limits)")
	fs.IntVar(&c.sendBurst, "send-burst", int(envFloat(getenv, "SWITCHBOARD_SEND_BURST", 50)), "per-user send burst (env SWITCHBOARD_SEND_BURST)")
	fs.DurationVar(&c.heartbeat, "heartbeat", envDuration(getenv, "SWITCHBOARD_HEARTBEAT", 25*time.Second), "WebSocket ping interval; a connection that misses two pongs is closed (env SWITCHBOARD_HEARTBEAT)")
	fs.DurationVar(&c.presenceGrace, "presence-grace", envDuration(getenv, "SWITCHBOARD_PRESENCE_GRACE", 5*time.Second), "how long a user stays online after the last connection closes (env SWITCHBOARD_PRESENCE_GRACE)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", envDuration(getenv, "SWITCHBOARD_DRAIN_TIMEOUT", 10*time.Second), "on SIGTERM, how long to wait for clients to reconnect elsewhere (env SWITCHBOARD_DRAIN_TIMEOUT)")
	fs.DurationVar(&c.authTimeout, "auth-timeout", envDuration(getenv, "SWITCHBOARD_AUTH_TIMEOUT", 10*time.Second), "a WebSocket that sends no auth frame within this is closed (env SWITCHBOARD_AUTH_TIMEOUT)")
	str(&c.wsEngine, "ws-engine", "SWITCHBOARD_WS_ENGINE", gateway.EnginePoll, "how WebSocket connections are read: poll (one epoll set; an idle connection holds no goroutine; Linux, plain TCP) or gws (a goroutine per connection)")
	fs.DurationVar(&c.commitWait, "commit-wait", envDuration(getenv, "SWITCHBOARD_COMMIT_WAIT", 20*time.Millisecond), "a message batch that would commit less than this after the previous one started waits for the rest of it, so a steady stream of sends shares commits (waits that gather little stop); 0 commits at once (env SWITCHBOARD_COMMIT_WAIT)")
	fs.DurationVar(&c.coalesce, "fanout-coalesce", envDuration(getenv, "SWITCHBOARD_FANOUT_COALESCE", 20*time.Millisecond), "a fan-out to 64 or more of a node's connections waits this long before writing, so one write carries several messages; 0 writes at once (env SWITCHBOARD_FANOUT_COALESCE)")
	str(&c.metricsAddr, "metrics-addr", "SWITCHBOARD_METRICS_ADDR", "", "if set, serve /metrics (Prometheus) and /debug/pprof/ on this address, a listener of its own (keep it private, e.g. 127.0.0.1:9090); off by default, and never on the public port")
	fs.IntVar(&c.largeGroup, "large-group", int(envFloat(getenv, "SWITCHBOARD_LARGE_GROUP", 1000)), "in a cluster, groups with more members than this travel on a per-group topic (one publish per message); 0 turns topics off (env SWITCHBOARD_LARGE_GROUP)")
	fs.DurationVar(&c.reorderWait, "reorder-wait", envDuration(getenv, "SWITCHBOARD_REORDER_WAIT", time.Second), "in a cluster, how long a node holds a pushed message whose predecessor has not arrived, to push a conversation in seq order (env SWITCHBOARD_REORDER_WAIT)")
	fs.IntVar(&c.maxText, "max-text", int(envFloat(getenv, "SWITCHBOARD_MAX_TEXT", chat.DefaultMaxText)), "largest message text in bytes (env SWITCHBOARD_MAX_TEXT)")
	fs.UintVar(&c.argonMemory, "argon2-memory", uint(envFloat(getenv, "SWITCHBOARD_ARGON2_MEMORY", float64(password.Default.MemoryKiB))), "argon2id memory per password hash in KiB; lower only for load tests (env SWITCHBOARD_ARGON2_MEMORY)")
	fs.UintVar(&c.argonTime, "argon2-time", uint(envFloat(getenv, "SWITCHBOARD_ARGON2_TIME", float64(password.Default.Time))), "argon2id passes per password hash (env SWITCHBOARD_ARGON2_TIME)")
	c.timeouts.flags(fs, getenv)
	c.push.flags(fs, getenv)
	c.tls.flags(fs, getenv)
	fs.DurationVar(&c.registryTTL, "registry-ttl", envDuration(getenv, "SWITCHBOARD_REGISTRY_TTL", redis.DefaultRegistryTTL), "in a cluster, how long a node's discovery entry lives; it is refreshed every third of this, and discovery stops naming a node that missed two refreshes; the same on every node (env SWITCHBOARD_REGISTRY_TTL)")
	fs.DurationVar(&c.sessionTTL, "session-ttl", envDuration(getenv, "SWITCHBOARD_SESSION_TTL", 30*24*time.Hour), "how long a login token works; a WebSocket opened with it is closed (4002) when it expires (env SWITCHBOARD_SESSION_TTL)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: switchboard serve [flags]\n\nRuns one Switchboard node. With no --postgres and --redis it is a complete\nsingle-node server on an embedded SQLite store.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

func envFloat(getenv func(string) string, name string, def float64) float64 {
	if v, err := strconv.ParseFloat(getenv(name), 64); err == nil {
		return v
	}
	return def
}

func envDuration(getenv func(string) string, name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(getenv(name)); err == nil {
		return v
	}
	return def
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg serveConfig
	fs := cfg.flagSet(getenv, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	if cfg.sendRate < 0 || cfg.sendBurst < 0 || cfg.maxText < 1 || cfg.heartbeat <= 0 {
		return fmt.Errorf("--send-rate and --send-burst must not be negative, --max-text and --heartbeat must be positive")
	}
	if cfg.sendRate > 0 && cfg.sendBurst < 1 {
		return fmt.Errorf("--send-burst must be at least 1 while --send-rate is on")
	}
	if cfg.sessionTTL <= 0 || cfg.registryTTL <= 0 {
		return fmt.Errorf("--session-ttl and --registry-ttl must be positive")
	}
	if cfg.wsEngine != gateway.EnginePoll && cfg.wsEngine != gateway.EngineGWS {
		return fmt.Errorf("--ws-engine is poll or gws, not %q", cfg.wsEngine)
	}
	if err := cfg.tls.check(); err != nil {
		return err
	}
	if err := cfg.timeouts.check(); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var tlsConf *tls.Config
	if cfg.tls.enabled() {
		c, err := cfg.tls.config(cfg.data)
		if err != nil {
			return err
		}
		tlsConf = c
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	if cfg.nodeID == "" {
		host, _ := os.Hostname()
		cfg.nodeID = host + "-" + strings.ReplaceAll(addr, ":", "-")
	}
	if cfg.publicURL == "" {
		cfg.publicURL = cfg.tls.publicURL(addr)
	}

	// Wait for PostgreSQL and Redis (answering /healthz meanwhile) rather
	// than exit: nodes and databases start in any order.
	store, cl, err := waitBackends(ctx, ln, cfg, stdout, log)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer store.Close()
	defer cl.close()

	meta, ok := store.(media.MetaStore)
	if !ok {
		return fmt.Errorf("store %T keeps no media", store)
	}
	blobs, err := openBlobs(ctx, cfg, log)
	if err != nil {
		return err
	}

	ready := func(ctx context.Context) error {
		if err := store.Ping(ctx); err != nil {
			return err
		}
		return cl.ping(ctx)
	}

	m := metrics.New(cfg.nodeID)
	cl.register(m.Registry())
	pw := &pushWiring{cfg: cfg.push}
	rt := node.New(node.Config{
		Store:         store,
		Presence:      cl.presence,
		Bus:           cl.bus,
		NodeID:        cfg.nodeID,
		Logger:        log,
		PresenceGrace: cfg.presenceGrace,
		LargeGroup:    cfg.largeGroup,
		ReorderWait:   cfg.reorderWait,
		CommitWait:    cfg.commitWait,
		Metrics:       m.Core(),
	})
	trusted, err := parsePrefixes(cfg.trusted)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	signupRate := cfg.signupRate / 60
	if signupRate <= 0 {
		signupRate = -1 // off
	}
	svc := chat.NewService(chat.Config{
		Store:     store,
		Presence:  cl.presence,
		Runtime:   rt,
		Hasher:    password.Argon2id{MemoryKiB: uint32(cfg.argonMemory), Time: uint32(cfg.argonTime)},
		NewID:     newIDs(),
		Logger:    log,
		SendRate:  cfg.sendRate,
		Limiter:   cl.limiter,
		SendBurst: cfg.sendBurst,
		MaxText:   cfg.maxText,
		Media:     meta.Media,
		DeleteMedia: func(ctx context.Context, id string) error {
			return media.DeleteBytes(ctx, blobs, id)
		},
		IsGrapheme: grapheme.IsOne,
		Metrics:    m.Core(),

		SessionTTL:      cfg.sessionTTL,
		SignupRate:      signupRate,
		SignupBurst:     cfg.signupBurst,
		HashConcurrency: cfg.hashSlots,
		MaxConnsPerUser: cfg.maxConns,
		CommonPassword:  password.NewCommon(chat.MinPasswordLen).Has,
	})
	pushDeps, err := pw.start(ctx, svc, store, cfg.presenceGrace, m, cfg.nodeID, log)
	if err != nil {
		return fmt.Errorf("web push: %w", err)
	}
	frameRate := cfg.frameRate
	if frameRate <= 0 {
		frameRate = -1 // off
	}
	coalesce := cfg.coalesce
	if coalesce <= 0 {
		coalesce = -1 // off
	}
	gw := gateway.New(svc, gateway.Config{Heartbeat: cfg.heartbeat, AuthTimeout: cfg.authTimeout, Engine: cfg.wsEngine, Coalesce: coalesce, Logger: log,
		FrameRate: frameRate, FrameBurst: cfg.frameBurst, Metrics: &gateway.Metrics{
			Connections: m.Connections, FrameIn: m.FrameIn, FramesOut: m.FramesOut, SlowClosed: m.SlowClosed,
		}})
	wsURL := strings.Replace(strings.Replace(cfg.publicURL, "https://", "wss://", 1), "http://", "ws://", 1) + "/v1/ws"
	handler := httpapi.NewServer(httpapi.Deps{
		Service:   svc,
		WebSocket: gw,
		Events:    gw.ServeEvents,
		Push:      pushDeps,
		Web:       web.Handler(),
		Media: media.NewHandler(media.Deps{
			Blobs: blobs, Meta: meta, Secret: []byte(cfg.mediaSecret), MaxSize: cfg.maxMedia, NewID: newIDs(), Logger: log,
			MaxUploadsPerHour: cfg.mediaLimits.MaxUploadsPerHour, MaxUserBytes: cfg.mediaLimits.MaxUserBytes, DecodeBudget: cfg.mediaLimits.DecodeBudget,
			MaxDecodes: cfg.mediaLimits.MaxDecodes, MaxDecodesPerUser: cfg.mediaLimits.MaxDecodesPerUser,
			Authenticate: func(r *http.Request) (chat.Session, error) {
				return svc.Authenticate(r.Context(), httpjson.BearerToken(r))
			},
		}),
		Discover: func(r *http.Request) (wire.DiscoverResponse, error) {
			return cl.discover(r.Context(), wsURL, cfg.nodeID)
		},
		Ready: ready,
		Nodes: func(ctx context.Context) ([]wire.NodeStats, error) {
			return cl.nodeStats(ctx, redis.NodeInfo{ID: cfg.nodeID, URL: wsURL, Conns: gw.Count()})
		},
		MediaBytes: func(ctx context.Context, id string) (io.ReadCloser, error) {
			return media.Open(ctx, blobs, id)
		},
		TrustedProxies: trusted,
		TransferIdle:   cfg.timeouts.read,
		Logger:         log,
	})

	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	svc.Start(runCtx, gw)
	go gw.Run(runCtx)
	pw.run(runCtx)
	cl.start(runCtx, func() redis.NodeInfo { return redis.NodeInfo{ID: cfg.nodeID, URL: wsURL, Conns: gw.Count()} }, log)

	if cfg.metricsAddr != "" {
		stopMetrics, err := serveMetrics(cfg.metricsAddr, m.Handler(), stdout, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}

	scheme := "http"
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
		handler = httpapi.HSTS(handler, hstsMaxAge)
		scheme = "https"
	}
	srv := cfg.timeouts.server(handler, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "switchboard %s: node %s listening on %s://%s\n", version, cfg.nodeID, scheme, addr)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	// Drain: stop accepting, ask clients to reconnect elsewhere, finish the
	// accepted writes, then close the store.
	log.Info("draining", "timeout", cfg.drainTimeout)
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.drainTimeout)
	defer cancel()
	go func() { _ = srv.Shutdown(shutCtx) }()
	cl.leaveDiscovery(shutCtx, cfg.nodeID)
	gw.Drain(shutCtx, "node shutting down")
	svc.Stop()
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelFlush()
	svc.FlushPresence(flushCtx)
	cl.leave(flushCtx)
	stopRun()
	pw.wait()
	log.Info("stopped")
	return nil
}

func openStore(ctx context.Context, cfg serveConfig, log *slog.Logger) (chat.Store, error) {
	if cfg.postgres != "" {
		opts := []postgres.Option{postgres.WithLogger(log)}
		if cfg.push.on {
			// Each message stored leaves its pushes' outbox entry in its
			// own transaction; without push, appends write nothing more.
			opts = append(opts, postgres.WithPushOutbox(cfg.presenceGrace))
		}
		return openPostgres(ctx, cfg.postgres, cfg.shards, log, opts...)
	}
	if len(cfg.shards) > 0 {
		return nil, fmt.Errorf("--shard needs --postgres (the directory database)")
	}
	if err := os.MkdirAll(cfg.data, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	var opts []sqlite.Option
	if cfg.push.on {
		opts = append(opts, sqlite.WithPushOutbox(cfg.presenceGrace))
	}
	s, err := sqlite.Open(ctx, filepath.Join(cfg.data, "switchboard.db"), opts...)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// openBlobs returns where media bytes live: S3 with --s3-endpoint, else a
// directory in the data dir (which only a single node can use).
func openBlobs(ctx context.Context, cfg serveConfig, log *slog.Logger) (blob.Store, error) {
	if cfg.s3Endpoint != "" {
		b, err := blob.NewS3(ctx, blob.S3Config{Endpoint: cfg.s3Endpoint, Bucket: cfg.s3Bucket, AccessKey: cfg.s3AccessKey,
			SecretKey: cfg.s3SecretKey, Region: cfg.s3Region, CreateBucket: true})
		if err != nil {
			return nil, fmt.Errorf("media store: %w", err)
		}
		return b, nil
	}
	if cfg.postgres != "" || cfg.redis != "" {
		log.Warn("media kept on this node's disk: uploads are not fetchable from other nodes; set --s3-endpoint for a cluster")
	}
	b, err := blob.NewDisk(filepath.Join(cfg.data, "media"))
	if err != nil {
		return nil, fmt.Errorf("media store: %w", err)
	}
	return b, nil
}

// newIDs returns a generator of ULIDs: 48 bits of milliseconds and 80 random
// bits, monotonic within this process, so ids sort by time and never clash
// across nodes.
func newIDs() func() string {
	var mu sync.Mutex
	entropy := ulid.Monotonic(rand.Reader, 0)
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.ToLower(ulid.MustNew(ulid.Timestamp(time.Now()), entropy).String())
	}
}

// parsePrefixes parses a comma-separated list of CIDRs or single addresses.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
