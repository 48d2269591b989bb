package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  []byte
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "switchboard test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a certificate for 127.0.0.1 and localhost and its key into
// dir and returns their paths.
func (ca *testCA) issue(t testing.TB, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// TestTLSWithCertFiles: with --tls-cert and --tls-key the node speaks
// HTTPS (with HSTS) and wss, through the Go client trusting the test CA;
// plain HTTP to the port is refused.
func TestTLSWithCertFiles(t *testing.T) {
	ca := newTestCA(t)
	certPath, keyPath := ca.issue(t, t.TempDir())
	s := startServer(t, "--tls-cert", certPath, "--tls-key", keyPath)
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("server URL %s; want https", s.URL)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool()}}}
	resp, err := hc.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("GET /healthz over TLS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	if resp.TLS == nil || resp.TLS.NegotiatedProtocol == "h2" {
		t.Fatalf("negotiated %+v; want HTTP/1.1 over TLS (WebSockets need it)", resp.TLS)
	}
	// Plain HTTP to the TLS port gets no API.
	if resp, err := http.Get("http" + strings.TrimPrefix(s.URL, "https") + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP to the TLS port answered 200")
		}
	}

	newClient := func() *client.Client { return client.New(s.URL, client.WithHTTPClient(hc)) }
	ann, bob := newClient(), newClient()
	for name, c := range map[string]*client.Client{"ann": ann, "bob": bob} {
		if _, err := c.Signup(ctxT(t), name, "password-"+name, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Login(ctxT(t), name, "password-"+name); err != nil {
			t.Fatal(err)
		}
	}
	d, err := ann.Discover(ctxT(t))
	if err != nil || !strings.HasPrefix(d.WSURL, "wss://") {
		t.Fatalf("discover = %+v, %v; want a wss URL", d, err)
	}
	bc := dial(t, bob, "web")
	ac, err := ann.DialDiscovered(ctxT(t), "web", 5*time.Second)
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	defer ac.Close()
	m, err := ac.Send(ctxT(t), client.SendRequest{ToUser: "bob", Text: "over wss"})
	if err != nil {
		t.Fatal(err)
	}
	if got := nextMessage(t, bc); got.ID != m.ID || got.Text != "over wss" {
		t.Fatalf("bob got %+v; want %+v", got, m)
	}

	// A client that does not trust the CA is refused.
	if _, err := client.New(s.URL).Signup(ctxT(t), "eve", "password-eve", ""); err == nil {
		t.Fatal("a client without the test CA accepted the certificate")
	}
}

func TestTLSBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--tls-cert", "x.pem"},
		{"--tls-key", "x.pem"},
		{"--tls-cert", "x.pem", "--tls-key", "y.pem", "--acme-domain", "example.org"},
		{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"},
	} {
		err := run(ctxT(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, args...),
			func(string) string { return "" }, &logWriter{}, &logWriter{})
		if err == nil {
			t.Errorf("serve %q: no error", args)
		}
	}
}
