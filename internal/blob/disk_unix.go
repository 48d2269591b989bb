//go:build unix

package blob

import "syscall"

const errNoSpace = syscall.ENOSPC
