package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The kernel's process events connector (linux/cn_proc.h, linux/connector.h).
const (
	cnIdxProc         = 0x1
	cnValProc         = 0x1
	procCnMcastListen = 1

	procEventNone = 0x00000000
	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventComm = 0x00000200
	procEventExit = 0x80000000

	cnMsgLen     = 20 // struct cn_msg: cb_id{idx,val}, seq, ack, len u16, flags u16
	procEventHdr = 16 // struct proc_event: what, cpu, timestamp_ns
)

// procEventKind is what happened to a process.
type procEventKind int

const (
	procFork procEventKind = iota + 1
	procExec
	procComm
	procExit
)

// procEvent is one process event, about a whole process (thread group):
// events about other threads are dropped by the parser.
type procEvent struct {
	kind procEventKind
	pid  int // the process concerned (for a fork, the child)
}

// cnProcSocket is a subscribed process events connector socket.
type cnProcSocket struct {
	s *nl.NetlinkSocket
}

// openCnProc opens the connector socket and asks for process events, then
// waits for the kernel's acknowledgement.
//
// The connector lives in the initial network namespace only: from any other
// one (hagent in the lab runs inside a namespace) the subscription cannot
// reach it. In that case the socket is opened in the namespace of PID 1,
// which needs CAP_SYS_ADMIN. The kernel also ignores listeners outside the
// initial PID and user namespaces without an answer, which the missing
// acknowledgement reveals.
func openCnProc(ackTimeout time.Duration) (*cnProcSocket, error) {
	sock, err := subscribeCnProc(netns.None(), netns.None())
	if err != nil && !errors.Is(err, unix.EPERM) {
		initNS, nsErr := openInitialNetNS()
		if nsErr != nil {
			return nil, fmt.Errorf("%w (and open the initial network namespace: %v)", err, nsErr)
		}
		defer initNS.Close()
		cur, nsErr := netns.Get()
		if nsErr != nil {
			return nil, fmt.Errorf("%w (and get current network namespace: %v)", err, nsErr)
		}
		defer cur.Close()
		if initNS.Equal(cur) {
			return nil, err
		}
		var errInit error
		if sock, errInit = subscribeCnProc(initNS, cur); errInit != nil {
			return nil, fmt.Errorf("%w; from the initial network namespace: %v", err, errInit)
		}
	} else if err != nil {
		return nil, err
	}
	if err := sock.awaitAck(ackTimeout); err != nil {
		sock.close()
		return nil, err
	}
	return sock, nil
}

// openInitialNetNS opens the initial network namespace through PID 1, or else
// through PID 2 (kthreadd: kernel threads live in the initial namespaces), because
// some inits cannot be inspected even by root (a microVM's non-dumpable init
// answers EACCES on /proc/1/ns/net).
func openInitialNetNS() (netns.NsHandle, error) {
	h, err := netns.GetFromPath("/proc/1/ns/net")
	if err == nil {
		return h, nil
	}
	if h2, err2 := netns.GetFromPath("/proc/2/ns/net"); err2 == nil {
		return h2, nil
	}
	return h, err
}

func subscribeCnProc(newNS, curNS netns.NsHandle) (*cnProcSocket, error) {
	s, err := nl.SubscribeAt(newNS, curNS, unix.NETLINK_CONNECTOR, cnIdxProc)
	if err != nil {
		return nil, fmt.Errorf("open process events connector: %w", err)
	}
	// Bursts of forks (a shell loop, a build) must not overrun us; when
	// they do anyway, ENOBUFS makes every subscriber rescan /proc.
	if err := s.SetReceiveBufferSize(1<<20, false); err != nil {
		s.Close()
		return nil, fmt.Errorf("size process events buffer: %w", err)
	}
	msg := make([]byte, unix.NLMSG_HDRLEN+cnMsgLen+4)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.NLMSG_DONE)
	ne.PutUint32(msg[12:], uint32(os.Getpid()))
	cn := msg[unix.NLMSG_HDRLEN:]
	ne.PutUint32(cn[0:], cnIdxProc)
	ne.PutUint32(cn[4:], cnValProc)
	ne.PutUint16(cn[16:], 4)
	ne.PutUint32(cn[cnMsgLen:], procCnMcastListen)
	if err := unix.Sendto(s.GetFd(), msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		s.Close()
		return nil, fmt.Errorf("subscribe to process events: %w", err)
	}
	return &cnProcSocket{s: s}, nil
}

// awaitAck waits for the PROC_EVENT_NONE answer to the subscription.
// Events that arrive first are dropped: the caller rescans /proc anyway.
func (c *cnProcSocket) awaitAck(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	defer c.s.SetReceiveTimeout(&unix.Timeval{})
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("no answer from the process events connector (not in the initial PID/user namespace?)")
		}
		tv := unix.NsecToTimeval(left.Nanoseconds())
		if err := c.s.SetReceiveTimeout(&tv); err != nil {
			return fmt.Errorf("set receive timeout: %w", err)
		}
		msgs, _, err := c.s.Receive()
		if errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return fmt.Errorf("receive process events acknowledgement: %w", err)
		}
		for _, m := range msgs {
			what, data, ok := splitProcEvent(m.Data)
			if !ok || what != procEventNone {
				continue
			}
			if len(data) >= 4 {
				if errno := binary.NativeEndian.Uint32(data); errno != 0 {
					return fmt.Errorf("process events connector refused: %w", unix.Errno(errno))
				}
			}
			return nil
		}
	}
}

// receive blocks for the next batch of events. It returns unix.ENOBUFS when
// the kernel dropped events, and an error once the socket is closed.
func (c *cnProcSocket) receive(into []procEvent) ([]procEvent, error) {
	msgs, from, err := c.s.Receive()
	if err != nil {
		return into, err
	}
	if from.Pid != nl.PidKernel {
		return into, nil
	}
	for _, m := range msgs {
		if ev, ok := parseProcEvent(m.Data); ok {
			into = append(into, ev)
		}
	}
	return into, nil
}

func (c *cnProcSocket) close() { c.s.Close() }

// splitProcEvent returns the proc_event "what" and its event_data.
func splitProcEvent(b []byte) (what uint32, data []byte, ok bool) {
	if len(b) < cnMsgLen+procEventHdr {
		return 0, nil, false
	}
	ne := binary.NativeEndian
	if ne.Uint32(b[0:]) != cnIdxProc || ne.Uint32(b[4:]) != cnValProc {
		return 0, nil, false
	}
	ev := b[cnMsgLen:]
	return ne.Uint32(ev[0:]), ev[procEventHdr:], true
}

// parseProcEvent decodes the events we use and drops thread-level ones.
func parseProcEvent(b []byte) (procEvent, bool) {
	what, d, ok := splitProcEvent(b)
	if !ok {
		return procEvent{}, false
	}
	ne := binary.NativeEndian
	u32 := func(off int) int { return int(ne.Uint32(d[off:])) }
	switch what {
	case procEventFork: // parent_pid, parent_tgid, child_pid, child_tgid
		if len(d) < 16 || u32(8) != u32(12) {
			return procEvent{}, false // a new thread, not a process
		}
		return procEvent{kind: procFork, pid: u32(12)}, true
	case procEventExec: // process_pid, process_tgid
		if len(d) < 8 {
			return procEvent{}, false
		}
		return procEvent{kind: procExec, pid: u32(4)}, true
	case procEventComm: // process_pid, process_tgid, comm[16]
		if len(d) < 8 || u32(0) != u32(4) {
			return procEvent{}, false // /proc/PID/comm is the main thread's
		}
		return procEvent{kind: procComm, pid: u32(4)}, true
	case procEventExit: // process_pid, process_tgid, exit_code, exit_signal, ...
		if len(d) < 8 || u32(0) != u32(4) {
			return procEvent{}, false // a thread ended, the process lives on
		}
		return procEvent{kind: procExit, pid: u32(4)}, true
	}
	return procEvent{}, false
}
