package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// hstsMaxAge is how long browsers keep to HTTPS after a visit.
const hstsMaxAge = 365 * 24 * time.Hour

// tlsSettings is how a node serves HTTPS: from certificate files, or with
// certificates it obtains and renews itself from an ACME CA (Let's
// Encrypt by default). Neither set means plain HTTP (behind a TLS proxy).
type tlsSettings struct {
	cert, key   string
	acmeDomains string
	acmeDirURL  string
	acmeCache   string
	acmeEmail   string
	acmeCA      string
}

func (t *tlsSettings) flags(fs *flag.FlagSet, getenv func(string) string) {
	str := func(p *string, name, envName, def, help string) {
		v := getenv(envName)
		if v == "" {
			v = def
		}
		fs.StringVar(p, name, v, help+" (env "+envName+")")
	}
	str(&t.cert, "tls-cert", "SWITCHBOARD_TLS_CERT", "", "PEM certificate chain file; with --tls-key the node serves HTTPS and wss")
	str(&t.key, "tls-key", "SWITCHBOARD_TLS_KEY", "", "PEM private key file of --tls-cert")
	str(&t.acmeDomains, "acme-domain", "SWITCHBOARD_ACME_DOMAIN", "", "comma-separated host names to get certificates for automatically from an ACME CA (TLS-ALPN-01 on this listener, so it must be reachable on port 443 under those names)")
	str(&t.acmeDirURL, "acme-dir-url", "SWITCHBOARD_ACME_DIR_URL", acme.LetsEncryptURL, "ACME directory URL")
	str(&t.acmeCache, "acme-cache", "SWITCHBOARD_ACME_CACHE", "", "directory keeping the ACME account key and certificates (default DATA/acme)")
	str(&t.acmeEmail, "acme-email", "SWITCHBOARD_ACME_EMAIL", "", "contact address given to the ACME CA (optional)")
	str(&t.acmeCA, "acme-ca-file", "SWITCHBOARD_ACME_CA_FILE", "", "PEM file of CA certificates to trust for the ACME directory's HTTPS, for a private ACME CA (default: the system's)")
}

func (t tlsSettings) enabled() bool { return t.cert != "" || t.key != "" || t.acmeDomains != "" }

func (t tlsSettings) check() error {
	if (t.cert == "") != (t.key == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if t.cert != "" && t.acmeDomains != "" {
		return errors.New("give --tls-cert/--tls-key or --acme-domain, not both")
	}
	return nil
}

// domains returns the --acme-domain names.
func (t tlsSettings) domains() []string {
	var out []string
	for _, d := range strings.Split(t.acmeDomains, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// config returns the listener's TLS settings; dataDir holds the default
// ACME cache. HTTP/2 is not offered: WebSockets need HTTP/1.1's upgrade.
func (t tlsSettings) config(dataDir string) (*tls.Config, error) {
	if t.cert != "" {
		pair, err := tls.LoadX509KeyPair(t.cert, t.key)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		return &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}, nil
	}
	domains := t.domains()
	if len(domains) == 0 {
		return nil, errors.New("--acme-domain names no host")
	}
	cache := t.acmeCache
	if cache == "" {
		cache = filepath.Join(dataDir, "acme")
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return nil, fmt.Errorf("--acme-cache: %w", err)
	}
	hc := http.DefaultClient
	if t.acmeCA != "" {
		pem, err := os.ReadFile(t.acmeCA)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--acme-ca-file %s holds no PEM certificate", t.acmeCA)
		}
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Proxy: http.ProxyFromEnvironment}}
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		HostPolicy: autocert.HostWhitelist(domains...),
		Cache:      autocert.DirCache(cache),
		Email:      t.acmeEmail,
		Client:     &acme.Client{DirectoryURL: t.acmeDirURL, HTTPClient: hc},
	}
	return &tls.Config{
		GetCertificate: m.GetCertificate,
		NextProtos:     []string{"http/1.1", acme.ALPNProto},
		MinVersion:     tls.VersionTLS12,
	}, nil
}

// publicURL is the node's default public base URL: https with TLS, under
// the first ACME name if there is one.
func (t tlsSettings) publicURL(addr string) string {
	if !t.enabled() {
		return "http://" + addr
	}
	if ds := t.domains(); len(ds) > 0 {
		if _, port, err := net.SplitHostPort(addr); err == nil && port != "443" {
			return "https://" + net.JoinHostPort(ds[0], port)
		}
		return "https://" + ds[0]
	}
	return "https://" + addr
}
