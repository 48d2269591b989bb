package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// serverTimeouts bound how long one HTTP connection may hold the server.
// WebSocket connections leave them at the upgrade (the gateway keeps its own
// deadlines), and media transfers outlive read and write while their bytes
// keep moving (httpapi.Transfer).
type serverTimeouts struct {
	readHeader time.Duration
	read       time.Duration
	write      time.Duration
	idle       time.Duration
}

func (t *serverTimeouts) flags(fs *flag.FlagSet, getenv func(string) string) {
	dur := func(p *time.Duration, name, envName string, def time.Duration, help string) {
		fs.DurationVar(p, name, envDuration(getenv, envName, def), help+" (env "+envName+")")
	}
	dur(&t.readHeader, "read-header-timeout", "SWITCHBOARD_READ_HEADER_TIMEOUT", 10*time.Second, "time to read a request's headers")
	dur(&t.read, "read-timeout", "SWITCHBOARD_READ_TIMEOUT", 30*time.Second, "time to read a whole request, body included; a media upload may take longer while its bytes keep coming, a stall this long cuts it")
	dur(&t.write, "write-timeout", "SWITCHBOARD_WRITE_TIMEOUT", 30*time.Second, "time from a request's headers to the end of its answer; media downloads may take longer while their bytes keep going")
	dur(&t.idle, "idle-timeout", "SWITCHBOARD_IDLE_TIMEOUT", 120*time.Second, "how long an idle keep-alive connection stays open")
}

func (t serverTimeouts) check() error {
	if t.readHeader <= 0 || t.read <= 0 || t.write <= 0 || t.idle <= 0 {
		return fmt.Errorf("--read-header-timeout, --read-timeout, --write-timeout and --idle-timeout must be positive")
	}
	return nil
}

// server returns the node's HTTP server around handler.
func (t serverTimeouts) server(handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
