// Package password hashes passwords with argon2id and stores the parameters
// with each hash (PHC string format), so they can change without breaking
// old hashes.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.PasswordHasher = Argon2id{}

// Argon2id hashes with the given cost. The zero value uses Default.
type Argon2id struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// Default is the OWASP-recommended minimum: 19 MiB, 2 passes, 1 lane.
var Default = Argon2id{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

func (a Argon2id) params() Argon2id {
	if a.MemoryKiB == 0 {
		a.MemoryKiB = Default.MemoryKiB
	}
	if a.Time == 0 {
		a.Time = Default.Time
	}
	if a.Threads == 0 {
		a.Threads = Default.Threads
	}
	return a
}

// Hash returns a PHC-format argon2id hash of pw with a random salt.
func (a Argon2id) Hash(pw string) (string, error) {
	p := a.params()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches hash, using the parameters in hash.
func (a Argon2id) Verify(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, fmt.Errorf("not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	var p Argon2id
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("bad argon2 parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("bad salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("bad key: %w", err)
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
