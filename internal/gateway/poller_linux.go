//go:build linux

package gateway

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// poller is the poll engine's epoll set. Each connection's socket is in it
// one-shot: when the client sends something, the poller starts a goroutine
// that reads the connection until nothing is left (serve), handles what it
// read, and arms the socket again. Until then the connection has no
// goroutine. The reads themselves are non-blocking reads of the socket,
// under the runtime's own hold on the descriptor (syscall.RawConn), so a
// descriptor is never read or armed after it was closed.
//
// The poller's goroutine also enforces the read deadlines (auth timeout,
// missed pongs) that the gws engine leaves to the runtime's timers. It
// starts with the first connection and ends once the set is empty.
type poller struct {
	g    *Gateway
	tick time.Duration

	mu      sync.Mutex
	epfd    int
	running bool
	conns   map[int32]*conn // by descriptor
}

const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

func newPoller(g *Gateway) *poller {
	tick := min(g.cfg.Heartbeat, g.cfg.AuthTimeout) / 10
	tick = max(10*time.Millisecond, min(tick, time.Second))
	return &poller{g: g, tick: tick, conns: make(map[int32]*conn)}
}

// add takes c's connection into the set and reads what has already come.
// It fails for a connection that is not a TCP socket; the gws engine then
// reads it.
func (p *poller) add(c *conn, nc net.Conn) error {
	tcp, ok := nc.(*net.TCPConn)
	if !ok {
		return errors.New("gateway: the poll engine reads TCP connections only")
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return err
	}
	c.poll.raw = raw
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return err
		}
		p.epfd, p.running = fd, true
		go p.loop(fd)
	}
	var ctlErr error
	err = raw.Control(func(fd uintptr) {
		c.poll.fd = int32(fd)
		// Registered disarmed: the first read below arms it.
		ev := syscall.EpollEvent{Events: syscall.EPOLLONESHOT, Fd: int32(fd)}
		ctlErr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		err = ctlErr
	}
	if err != nil {
		return err
	}
	p.conns[c.poll.fd] = c
	c.poll.reading.Store(true)
	go c.serve()
	return nil
}

// arm waits for c's client to send again.
func (p *poller) arm(c *conn) {
	_ = c.poll.raw.Control(func(fd uintptr) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.conns[int32(fd)] != c {
			return
		}
		ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(fd)}
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
	})
}

// remove takes c out of the set, before its connection is closed.
func (p *poller) remove(c *conn) {
	_ = c.poll.raw.Control(func(fd uintptr) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.conns[int32(fd)] != c {
			return
		}
		delete(p.conns, int32(fd))
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
}

// read reads what has arrived on c's socket without waiting:
// syscall.EAGAIN when nothing has.
func (p *poller) read(ps *pollState, b []byte) (int, error) {
	return rawIO(ps.raw.Read, syscall.Read, b)
}

// write writes what c's socket takes of b without waiting:
// syscall.EAGAIN when it takes nothing.
func (p *poller) write(ps *pollState, b []byte) (int, error) {
	return rawIO(ps.raw.Write, syscall.Write, b)
}

// rawIO runs one non-blocking read or write on a socket's descriptor
// (through its syscall.RawConn's Read or Write, which keeps the descriptor
// open meanwhile), retrying an interrupted call.
func rawIO(ctl func(func(fd uintptr) bool) error, op func(fd int, b []byte) (int, error), b []byte) (n int, err error) {
	cerr := ctl(func(fd uintptr) bool {
		for {
			n, err = op(int(fd), b)
			if err != syscall.EINTR {
				return true
			}
		}
	})
	if cerr != nil {
		return 0, cerr
	}
	if n < 0 {
		n = 0
	}
	return n, err
}

// loop hands each ready connection to a reading goroutine, and closes
// those past their read deadline, until the set is empty.
func (p *poller) loop(epfd int) {
	events := make([]syscall.EpollEvent, 128)
	next := time.Now().Add(p.tick)
	var late []*conn
	for {
		n, err := syscall.EpollWait(epfd, events, int(p.tick/time.Millisecond))
		if err != nil && err != syscall.EINTR {
			p.g.log.Error("epoll wait", "err", err)
			time.Sleep(p.tick)
		}
		now := time.Now()
		sweep := !now.Before(next)
		p.mu.Lock()
		for _, ev := range events[:max(n, 0)] {
			// A connection already being read is read to the end (EAGAIN)
			// and armed again by its reader.
			if c := p.conns[ev.Fd]; c != nil && c.poll.reading.CompareAndSwap(false, true) {
				go c.serve()
			}
		}
		if sweep {
			next = now.Add(p.tick)
			for _, c := range p.conns {
				if c.poll.expired(now) {
					late = append(late, c)
				}
			}
		}
		if len(p.conns) == 0 {
			p.running = false
			_ = syscall.Close(epfd)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		for i, c := range late {
			c.timedOut()
			late[i] = nil
		}
		late = late[:0]
	}
}
