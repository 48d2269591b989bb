package blob_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/blob"
	"github.com/switchboard-chat/switchboard/internal/blob/blobtest"
	"github.com/switchboard-chat/switchboard/internal/chat"
)

func TestS3(t *testing.T) {
	endpoint := blobtest.StartS3(t)
	blobtest.Run(t, func(tb testing.TB) blob.Store { return blobtest.OpenS3(tb, endpoint) })
}

func TestS3Errors(t *testing.T) {
	endpoint := blobtest.StartS3(t)
	ctx := context.Background()
	cfg := blob.S3Config{Endpoint: endpoint, Bucket: "missing-bucket", AccessKey: blobtest.S3Access, SecretKey: blobtest.S3Secret}
	if _, err := blob.NewS3(ctx, cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("NewS3(missing bucket) = %v, want a does-not-exist error", err)
	}
	cfg.SecretKey = "wrong"
	cfg.CreateBucket = true
	if _, err := blob.NewS3(ctx, cfg); err == nil {
		t.Errorf("NewS3 with a wrong secret succeeded")
	}

	// A server that is not there is unavailable.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	_, err = blob.NewS3(ctx, blob.S3Config{Endpoint: dead, Bucket: "switchboard-b", AccessKey: blobtest.S3Access, SecretKey: blobtest.S3Secret})
	var ce *chat.Error
	if !errors.As(err, &ce) || ce.Code != chat.EUnavailable {
		t.Errorf("NewS3(dead server) = %v, want code %s", err, chat.EUnavailable)
	}
}
