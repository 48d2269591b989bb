//go:build unix

package blob

import (
	"os"
	"syscall"
)

const errNoSpace = syscall.ENOSPC

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
