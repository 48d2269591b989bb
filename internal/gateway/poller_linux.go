//go:build linux

package gateway

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
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
		set, err := newEpollSet()
		if err != nil {
			return err
		}
		p.epfd, p.running = set.fd, true
		go p.loop(set)
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
	return rawIO(ps.raw.Read, rawRead, b)
}

// write writes what c's socket takes of b without waiting:
// syscall.EAGAIN when it takes nothing.
func (p *poller) write(ps *pollState, b []byte) (int, error) {
	return rawIO(ps.raw.Write, rawWrite, b)
}

// rawRead and rawWrite are read(2) and write(2) on a non-blocking
// descriptor, made without telling the runtime a system call began: such
// a call returns within microseconds (EAGAIN rather than wait), and each
// one the runtime is told of is a chance for its monitor to hand the
// processor to another thread; under fan-out, tens of thousands a second
// kept the monitor waking every 20 µs.
func rawRead(fd int, b []byte) (int, error)  { return rawSyscallIO(syscall.SYS_READ, fd, b) }
func rawWrite(fd int, b []byte) (int, error) { return rawSyscallIO(syscall.SYS_WRITE, fd, b) }

func rawSyscallIO(trap uintptr, fd int, b []byte) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, errno := syscall.RawSyscall(trap, uintptr(fd), uintptr(p), uintptr(len(b)))
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
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

// epollSet is the poller's epoll descriptor, itself waited on through the
// runtime's network poller: an epoll descriptor is readable while any of
// its sockets is ready. So the poller's goroutine parks like any other
// reader instead of holding a thread in a blocking epoll_wait, which the
// runtime's monitor takes the processor away from whenever every
// processor is busy (and then polls every 20 µs for a while).
type epollSet struct {
	fd   int
	file *os.File // owns fd
	raw  syscall.RawConn
}

func newEpollSet() (*epollSet, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	// A non-blocking descriptor is taken into the runtime's poller.
	file := os.NewFile(uintptr(fd), "epoll")
	raw, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, err
	}
	return &epollSet{fd: fd, file: file, raw: raw}, nil
}

// wait fills events with the ready sockets, parking until there is one or
// until the deadline; n is 0 at the deadline.
func (e *epollSet) wait(events []syscall.EpollEvent, deadline time.Time) (n int, err error) {
	if err := e.file.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	var werr error
	err = e.raw.Read(func(fd uintptr) bool {
		n, werr = syscall.EpollWait(int(fd), events, 0)
		// Nothing ready (or a signal): park until the descriptor is
		// readable, then look again.
		return n > 0 || (werr != nil && werr != syscall.EINTR)
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, nil
	}
	if err == nil {
		err = werr
	}
	return max(n, 0), err
}

// loop hands each ready connection to a reading goroutine, and closes
// those past their read deadline, until the set is empty.
func (p *poller) loop(set *epollSet) {
	events := make([]syscall.EpollEvent, 128)
	next := time.Now().Add(p.tick)
	var late []*conn
	for {
		n, err := set.wait(events, next)
		if err != nil {
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
			_ = set.file.Close()
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
