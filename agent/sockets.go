package agent

import (
	"bytes"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/hagent-dev/hagent/agent/netio"
)

// packetConn is the part of netio.Conn the agent uses.
type packetConn interface {
	ReadPacket(buf []byte) (netio.Packet, error)
	WriteTo(payload []byte, src, dst netip.Addr) error
	Close() error
}

func openNetioConn(ifname string, family netio.Family, unicast bool) (packetConn, error) {
	var opts []netio.Option
	if unicast {
		opts = append(opts, netio.UnicastOnly())
	}
	return netio.Listen(ifname, family, opts...)
}

type socketKey struct {
	ifname  string
	family  netio.Family
	unicast bool
}

// socket is one raw VRRP socket shared by the instances on an interface and family,
// with the goroutine that reads it and hands each packet to the instance of its VRID.
type socket struct {
	key  socketKey
	conn packetConn
	log  *slog.Logger

	mu     sync.RWMutex
	byVRID map[uint8][]*instance
}

type sockets struct {
	open func(ifname string, family netio.Family, unicast bool) (packetConn, error)
	log  *slog.Logger

	mu   sync.Mutex
	socs map[socketKey]*socket
}

func newSockets(open func(string, netio.Family, bool) (packetConn, error), log *slog.Logger) *sockets {
	return &sockets{open: open, log: log, socs: map[socketKey]*socket{}}
}

// attach opens (or reuses) the instance's socket and registers it for its VRID.
func (s *sockets) attach(in *instance) error {
	key := socketKey{ifname: in.cfg.Interface, family: in.family, unicast: in.cfg.Unicast()}
	s.mu.Lock()
	defer s.mu.Unlock()
	so := s.socs[key]
	if so == nil {
		conn, err := s.open(key.ifname, key.family, key.unicast)
		if err != nil {
			return err
		}
		so = &socket{key: key, conn: conn, log: s.log, byVRID: map[uint8][]*instance{}}
		s.socs[key] = so
		go so.read()
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
		so.conn.Close()
	}
}

func (s *sockets) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, so := range s.socs {
		so.conn.Close()
		delete(s.socs, k)
	}
}

// read hands every packet to the instance of its VRID. A packet too short to name a
// VRID, or naming one nobody here uses, goes to every instance on the socket so that
// each counts it under its receive-check cause. Only a closed socket ends the loop.
func (so *socket) read() {
	buf := make([]byte, 65536)
	for {
		p, err := so.conn.ReadPacket(buf)
		if err != nil {
			so.log.Debug("VRRP socket closed", "interface", so.key.ifname, "err", err)
			return
		}
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
		pkt := packetMsg{src: p.Src, dst: p.Dst, ttl: p.TTL, at: p.At, data: bytes.Clone(p.Data)}
		for _, in := range targets {
			in.deliverPacket(pkt)
		}
	}
}

func (so *socket) send(payload []byte, src, dst netip.Addr) error {
	return so.conn.WriteTo(payload, src, dst)
}
