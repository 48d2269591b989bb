package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
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
)

// serveConfig is everything `switchboard serve` can be told.
type serveConfig struct {
	addr          string
	data          string
	postgres      string
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
	debugAddr     string
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
}

// flagSet binds the serve flags; each takes its default from its env twin.
func (c *serveConfig) flagSet(getenv func(string) string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	str := func(p *string, name, envName, def, help string) {
		fs.StringVar(p, name, env(envName, def), help+" (env "+envName+")")
	}
	str(&c.addr, "addr", "SWITCHBOARD_ADDR", "127.0.0.1:8080", "address to listen on")
	str(&c.data, "data", "SWITCHBOARD_DATA", "./data", "data directory of the embedded SQLite store")
	str(&c.postgres, "postgres", "SWITCHBOARD_POSTGRES", "", "PostgreSQL URL; empty means the embedded SQLite store")
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
	fs.Float64Var(&c.sendRate, "send-rate", envFloat(getenv, "SWITCHBOARD_SEND_RATE", 20), "per-user sends per second; 0 turns the limit off (env SWITCHBOARD_SEND_RATE)")
	fs.IntVar(&c.sendBurst, "send-burst", int(envFloat(getenv, "SWITCHBOARD_SEND_BURST", 50)), "per-user send burst (env SWITCHBOARD_SEND_BURST)")
	fs.DurationVar(&c.heartbeat, "heartbeat", envDuration(getenv, "SWITCHBOARD_HEARTBEAT", 25*time.Second), "WebSocket ping interval; a connection that misses two pongs is closed (env SWITCHBOARD_HEARTBEAT)")
	fs.DurationVar(&c.presenceGrace, "presence-grace", envDuration(getenv, "SWITCHBOARD_PRESENCE_GRACE", 5*time.Second), "how long a user stays online after the last connection closes (env SWITCHBOARD_PRESENCE_GRACE)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", envDuration(getenv, "SWITCHBOARD_DRAIN_TIMEOUT", 10*time.Second), "on SIGTERM, how long to wait for clients to reconnect elsewhere (env SWITCHBOARD_DRAIN_TIMEOUT)")
	fs.DurationVar(&c.authTimeout, "auth-timeout", envDuration(getenv, "SWITCHBOARD_AUTH_TIMEOUT", 10*time.Second), "a WebSocket that sends no auth frame within this is closed (env SWITCHBOARD_AUTH_TIMEOUT)")
	str(&c.debugAddr, "debug-addr", "SWITCHBOARD_DEBUG_ADDR", "", "if set, serve Go's pprof profiles on this address (keep it on loopback)")
	fs.IntVar(&c.largeGroup, "large-group", int(envFloat(getenv, "SWITCHBOARD_LARGE_GROUP", 1000)), "in a cluster, groups with more members than this travel on a per-group topic (one publish per message); 0 turns topics off (env SWITCHBOARD_LARGE_GROUP)")
	fs.DurationVar(&c.reorderWait, "reorder-wait", envDuration(getenv, "SWITCHBOARD_REORDER_WAIT", time.Second), "in a cluster, how long a node holds a pushed message whose predecessor has not arrived, to push a conversation in seq order (env SWITCHBOARD_REORDER_WAIT)")
	fs.IntVar(&c.maxText, "max-text", int(envFloat(getenv, "SWITCHBOARD_MAX_TEXT", chat.DefaultMaxText)), "largest message text in bytes (env SWITCHBOARD_MAX_TEXT)")
	fs.UintVar(&c.argonMemory, "argon2-memory", uint(envFloat(getenv, "SWITCHBOARD_ARGON2_MEMORY", float64(password.Default.MemoryKiB))), "argon2id memory per password hash in KiB; lower only for load tests (env SWITCHBOARD_ARGON2_MEMORY)")
	fs.UintVar(&c.argonTime, "argon2-time", uint(envFloat(getenv, "SWITCHBOARD_ARGON2_TIME", float64(password.Default.Time))), "argon2id passes per password hash (env SWITCHBOARD_ARGON2_TIME)")
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
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

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
		cfg.publicURL = "http://" + addr
	}

	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()

	meta, ok := store.(media.MetaStore)
	if !ok {
		return fmt.Errorf("store %T keeps no media", store)
	}
	blobs, err := openBlobs(ctx, cfg, log)
	if err != nil {
		return err
	}

	cl, err := openCluster(ctx, cfg)
	if err != nil {
		return err
	}
	defer cl.close()
	ready := func(ctx context.Context) error {
		if err := store.Ping(ctx); err != nil {
			return err
		}
		return cl.ping(ctx)
	}

	m := metrics.New(cfg.nodeID)
	cl.register(m.Registry())
	rt := node.New(node.Config{
		Store:         store,
		Presence:      cl.presence,
		Bus:           cl.bus,
		NodeID:        cfg.nodeID,
		Logger:        log,
		PresenceGrace: cfg.presenceGrace,
		LargeGroup:    cfg.largeGroup,
		ReorderWait:   cfg.reorderWait,
		Metrics:       m.Core(),
	})
	svc := chat.NewService(chat.Config{
		Store:     store,
		Presence:  cl.presence,
		Runtime:   rt,
		Hasher:    password.Argon2id{MemoryKiB: uint32(cfg.argonMemory), Time: uint32(cfg.argonTime)},
		NewID:     newIDs(),
		Logger:    log,
		SendRate:  cfg.sendRate,
		SendBurst: cfg.sendBurst,
		MaxText:   cfg.maxText,
		Media:     meta.Media,
		DeleteMedia: func(ctx context.Context, id string) error {
			return media.DeleteBytes(ctx, blobs, id)
		},
		IsGrapheme: grapheme.IsOne,
		Metrics:    m.Core(),
	})
	gw := gateway.New(svc, gateway.Config{Heartbeat: cfg.heartbeat, AuthTimeout: cfg.authTimeout, Logger: log, Metrics: &gateway.Metrics{
		Connections: m.Connections, FrameIn: m.FrameIn, FramesOut: m.FramesOut, SlowClosed: m.SlowClosed,
	}})
	wsURL := strings.Replace(strings.Replace(cfg.publicURL, "https://", "wss://", 1), "http://", "ws://", 1) + "/v1/ws"
	handler := httpapi.NewServer(httpapi.Deps{
		Service:   svc,
		WebSocket: gw,
		Metrics:   m.Handler(),
		Web:       web.Handler(),
		Media: media.NewHandler(media.Deps{
			Blobs: blobs, Meta: meta, Secret: []byte(cfg.mediaSecret), MaxSize: cfg.maxMedia, NewID: newIDs(), Logger: log,
			Authenticate: func(r *http.Request) (chat.Session, error) {
				return svc.Authenticate(r.Context(), httpjson.BearerToken(r))
			},
		}),
		Discover: func(r *http.Request) (string, string, error) {
			return cl.discover(r.Context(), wsURL, cfg.nodeID)
		},
		Ready:  ready,
		Logger: log,
	})

	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	svc.Start(runCtx, gw)
	go gw.Run(runCtx)
	cl.start(runCtx, func() redis.NodeInfo { return redis.NodeInfo{ID: cfg.nodeID, URL: wsURL, Conns: gw.Count()} }, log)

	if cfg.debugAddr != "" {
		dln, err := net.Listen("tcp", cfg.debugAddr)
		if err != nil {
			return fmt.Errorf("--debug-addr: %w", err)
		}
		defer dln.Close()
		dmux := http.NewServeMux()
		dmux.HandleFunc("/debug/pprof/", pprof.Index)
		dmux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dmux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go func() { _ = http.Serve(dln, dmux) }()
		fmt.Fprintf(stdout, "pprof on http://%s/debug/pprof/\n", dln.Addr())
	}

	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "switchboard %s: node %s listening on http://%s\n", version, cfg.nodeID, addr)

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
	log.Info("stopped")
	return nil
}

func openStore(ctx context.Context, cfg serveConfig) (chat.Store, error) {
	if cfg.postgres != "" {
		s, err := postgres.Open(ctx, cfg.postgres)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return s, nil
	}
	if err := os.MkdirAll(cfg.data, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s, err := sqlite.Open(ctx, filepath.Join(cfg.data, "switchboard.db"))
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
