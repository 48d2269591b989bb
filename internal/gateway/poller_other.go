//go:build !linux

package gateway

import (
	"errors"
	"net"
)

// poller has no epoll set off Linux: every connection is read by the gws
// engine.
type poller struct{}

func newPoller(*Gateway) *poller { return nil }

func (p *poller) add(*conn, net.Conn) error {
	return errors.New("gateway: the poll engine needs Linux")
}

func (p *poller) arm(*conn)    {}
func (p *poller) remove(*conn) {}

func (p *poller) read(*pollState, []byte) (int, error) {
	return 0, errors.New("gateway: the poll engine needs Linux")
}

func (p *poller) write(*pollState, []byte) (int, error) {
	return 0, errors.New("gateway: the poll engine needs Linux")
}
