//go:build !unix

package blob

import "errors"

var errNoSpace = errors.New("no space left on device")
