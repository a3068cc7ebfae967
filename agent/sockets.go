package agent

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/hagent-dev/hagent/agent/netio"
)

// packetConn is the part of netio.Conn the agent uses.
type packetConn interface {
	ReadPacket(buf []byte) (netio.Packet, error)
	WriteTo(payload []byte, src, dst netip.Addr) error
	Close() error
}

// openNetioConn opens the raw socket of an interface and family; group is the
// multicast group it joins, none (the zero Addr) for unicast instances.
func openNetioConn(ifname string, family netio.Family, group netip.Addr) (packetConn, error) {
	opts := []netio.Option{netio.WithGroup(group)}
	if !group.IsValid() {
		opts = []netio.Option{netio.UnicastOnly()}
	}
	return netio.Listen(ifname, family, opts...)
}

type socketKey struct {
	ifname string
	family netio.Family
	group  netip.Addr // the multicast group joined; zero for unicast instances
}

// socket is one raw VRRP socket shared by the instances on an interface and family,
// with the goroutine that reads it and hands each packet to the instance of its VRID.
// The kernel socket is bound to the interface's index: while the interface does not
// exist there is none (conn is nil), and a re-created interface (a new index) gets a new
// one (sockets.refresh).
type socket struct {
	key socketKey
	log *slog.Logger

	connMu  sync.Mutex
	conn    packetConn // nil while the interface does not exist
	ifindex int        // the index conn is bound to

	mu     sync.RWMutex
	byVRID map[uint8][]*instance

	// reads and handed count the packets read, and those handed to their instances
	// (receiveQueued).
	reads, handed atomic.Uint64
}

type sockets struct {
	open    func(ifname string, family netio.Family, group netip.Addr) (packetConn, error)
	ifindex func(ifname string) int // 0: the interface does not exist
	log     *slog.Logger

	mu   sync.Mutex
	socs map[socketKey]*socket
}

func newSockets(open func(string, netio.Family, netip.Addr) (packetConn, error), ifindex func(string) int, log *slog.Logger) *sockets {
	return &sockets{open: open, ifindex: ifindex, log: log, socs: map[socketKey]*socket{}}
}

// attach opens (or reuses) the instance's socket and registers it for its VRID. An
// interface that does not exist yet is no error: the socket opens when it appears.
func (s *sockets) attach(in *instance) error {
	key := socketKey{ifname: in.cfg.Interface, family: in.family, group: in.cfg.McastGroup}
	s.mu.Lock()
	defer s.mu.Unlock()
	so := s.socs[key]
	if so == nil {
		so = &socket{key: key, log: s.log, byVRID: map[uint8][]*instance{}}
		if index := s.ifindex(key.ifname); index != 0 {
			if err := so.reopen(s.open, index); err != nil {
				return err
			}
		} else {
			s.log.Warn("interface does not exist; its VRRP socket opens when it appears", "interface", key.ifname, "family", key.family.String())
		}
		s.socs[key] = so
	}
	so.mu.Lock()
	so.byVRID[in.vrid] = append(so.byVRID[in.vrid], in)
	so.mu.Unlock()
	in.sock = so
	return nil
}

// detach unregisters an instance; the socket closes with its last instance.
func (s *sockets) detach(in *instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	so := in.sock
	if so == nil {
		return
	}
	so.mu.Lock()
	list := so.byVRID[in.vrid]
	for i, x := range list {
		if x == in {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(so.byVRID, in.vrid)
	} else {
		so.byVRID[in.vrid] = list
	}
	empty := len(so.byVRID) == 0
	so.mu.Unlock()
	if empty {
		delete(s.socs, so.key)
		so.close()
	}
}

func (s *sockets) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, so := range s.socs {
		so.close()
		delete(s.socs, k)
	}
}

// refresh follows an interface after the kernel reported a change; index is its index
// now, 0 if it does not exist. A socket bound to an interface that was deleted is
// closed; one whose interface appeared, or was re-created (a new index: the old socket
// is bound to a dead one and its multicast membership is gone), is opened again.
func (s *sockets) refresh(ifname string, index int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, so := range s.socs {
		if so.key.ifname != ifname {
			continue
		}
		so.connMu.Lock()
		open, bound := so.conn != nil, so.ifindex
		so.connMu.Unlock()
		switch {
		case index == 0 && open:
			so.close()
			s.log.Warn("interface gone; VRRP socket closed", "interface", ifname, "family", so.key.family.String())
		case index != 0 && (!open || bound != index):
			if err := so.reopen(s.open, index); err != nil {
				s.log.Error("open VRRP socket", "interface", ifname, "family", so.key.family.String(), "err", err)
				continue
			}
			s.log.Info("VRRP socket opened", "interface", ifname, "family", so.key.family.String(), "ifindex", index, "was", bound)
		}
	}
}

// reopen opens a new kernel socket for the interface (index is what the caller read;
// a netio.Conn knows the index it actually bound to), starts its reader, and closes the
// old one, whose reader then ends.
func (so *socket) reopen(open func(string, netio.Family, netip.Addr) (packetConn, error), index int) error {
	conn, err := open(so.key.ifname, so.key.family, so.key.group)
	if err != nil {
		return err
	}
	if c, ok := conn.(interface{ IfIndex() int }); ok {
		index = c.IfIndex()
	}
	so.connMu.Lock()
	old := so.conn
	so.conn, so.ifindex = conn, index
	so.connMu.Unlock()
	if old != nil {
		old.Close()
	}
	go so.read(conn)
	return nil
}

// close closes the kernel socket, if any.
func (so *socket) close() {
	so.connMu.Lock()
	old := so.conn
	so.conn, so.ifindex = nil, 0
	so.connMu.Unlock()
	if old != nil {
		old.Close()
	}
}

// batchReader is a packetConn that reads every queued packet with one system call
// (netio.Conn.ReadBatch).
type batchReader interface {
	ReadBatch(ps []netio.Packet) (int, error)
}

// read hands every packet of conn to the instance of its VRID. A packet too short to
// name a VRID, or naming one nobody here uses, goes to every instance on the socket so
// that each counts it under its receive-check cause. Only a closed conn ends the loop.
func (so *socket) read(conn packetConn) {
	if br, ok := conn.(batchReader); ok {
		so.readBatches(br)
		return
	}
	buf := make([]byte, 65536)
	for {
		p, err := conn.ReadPacket(buf)
		if err != nil {
			so.log.Debug("VRRP socket closed", "interface", so.key.ifname, "err", err)
			return
		}
		so.reads.Add(1)
		so.deliver(p)
	}
}

// readBatches is read for a socket that gives every packet it holds at once: the
// adverts of a burst (hundreds of masters on one advert grid) cost one system call per
// batch, and the reader parks in the netpoller only once it has caught up.
func (so *socket) readBatches(conn batchReader) {
	ps := make([]netio.Packet, netio.BatchSize)
	for {
		n, err := conn.ReadBatch(ps)
		if err != nil {
			so.log.Debug("VRRP socket closed", "interface", so.key.ifname, "err", err)
			return
		}
		so.reads.Add(uint64(n))
		for _, p := range ps[:n] {
			so.deliver(p)
		}
	}
}

// deliver hands one packet read from the socket to the instance of its VRID (read).
func (so *socket) deliver(p netio.Packet) {
	so.mu.RLock()
	var targets []*instance
	if len(p.Data) >= 2 {
		targets = so.byVRID[p.Data[1]]
	}
	if len(targets) == 0 {
		for _, l := range so.byVRID {
			targets = append(targets, l...)
		}
	}
	so.mu.RUnlock()
	// The data stays the reader's buffer: an instance stepped inline reads it before
	// the next read, one that queues it copies it (deliverPacket).
	pkt := packetMsg{src: p.Src, dst: p.Dst, ttl: p.TTL, at: p.At, data: p.Data}
	for _, in := range targets {
		in.deliverPacket(pkt)
	}
	so.handed.Add(1)
}

func (so *socket) send(payload []byte, src, dst netip.Addr) error {
	so.connMu.Lock()
	conn := so.conn
	so.connMu.Unlock()
	if conn == nil {
		return fmt.Errorf("send VRRP on %s: %w", so.key.ifname, netio.ErrNoInterface)
	}
	return conn.WriteTo(payload, src, dst)
}
