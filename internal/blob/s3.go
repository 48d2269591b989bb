package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// S3Config says where an S3 store keeps its objects.
type S3Config struct {
	// Endpoint is the server: "host:port" (HTTPS) or a URL whose scheme
	// picks http or https, e.g. "http://127.0.0.1:9000".
	Endpoint  string
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string // optional
	// Prefix is put before every key, e.g. "media/"; optional.
	Prefix string
	// CreateBucket makes the bucket if it does not exist yet.
	CreateBucket bool
	// TempDir is where Put spools an upload before sending it; default
	// os.TempDir().
	TempDir string
}

// S3 is a Store on an S3-compatible object store, shared by every node of a
// cluster.
//
// Put first spools the upload to a temporary file and then sends it with
// its length in one request: memory use stays small whatever the object
// size, and an upload that breaks off never reaches the bucket.
type S3 struct {
	c      *minio.Client
	bucket string
	prefix string
	tmp    string
}

var _ Store = (*S3)(nil)

// maxSinglePut is the largest object sent as one PUT (S3 allows 5 GiB);
// larger ones go as a multipart upload of parts this size.
const maxSinglePut = 64 << 20

// NewS3 connects to the store described by cfg and checks that the bucket
// exists (or makes it, with CreateBucket). An unreachable server is
// EUnavailable.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, fmt.Errorf("blob: s3: endpoint and bucket are required")
	}
	host, secure := cfg.Endpoint, true
	if strings.Contains(cfg.Endpoint, "://") {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("blob: s3: endpoint: %w", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("blob: s3: endpoint scheme must be http or https, not %q", u.Scheme)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	c, err := minio.New(host, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: secure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: s3: %w", err)
	}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", cfg.Bucket, s3Err(err, ""))
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("blob: s3: bucket %s does not exist", cfg.Bucket)
		}
		if err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
			return nil, fmt.Errorf("make bucket %s: %w", cfg.Bucket, s3Err(err, ""))
		}
	}
	tmp := cfg.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	return &S3{c: c, bucket: cfg.Bucket, prefix: cfg.Prefix, tmp: tmp}, nil
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(s.tmp, "switchboard-put-*")
	if err != nil {
		return 0, fmt.Errorf("blob: s3: spool: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return n, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return n, fmt.Errorf("blob: s3: spool: %w", err)
	}
	_, err = s.c.PutObject(ctx, s.bucket, s.prefix+key, f, n, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		PartSize:    maxSinglePut,
	})
	if err != nil {
		return n, s3Err(err, key)
	}
	return n, nil
}

// Get implements Store. The returned reader fetches lazily: a Seek followed
// by a Read asks the server for that range only.
func (s *S3) Get(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	obj, err := s.c.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, s3Err(err, key)
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, 0, s3Err(err, key)
	}
	return obj, st.Size, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.c.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return nil
	}
	return s3Err(err, key)
}

// s3Err translates a client error: a missing object is ENotFound, a server
// that cannot be reached or answers 503 EUnavailable; the rest stays a fault.
func s3Err(err error, key string) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound && key != "":
		return chat.Errorf(chat.ENotFound, "no blob %q", key)
	case resp.StatusCode == http.StatusServiceUnavailable || resp.Code == "SlowDown":
		return chat.Errorf(chat.EUnavailable, "the object store is busy")
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return chat.Errorf(chat.EUnavailable, "the object store is unreachable")
	}
	return fmt.Errorf("blob: s3: %w", err)
}
