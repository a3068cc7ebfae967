package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Announcer tells the segment where virtual addresses now live.
type Announcer interface {
	// Announce sends rounds rounds, back to back, of one gratuitous ARP per
	// IPv4 address and one unsolicited Neighbor Advertisement per IPv6 address
	// out of ifname (garp_master_repeat's burst). Delays (garp_master_delay,
	// garp_master_refresh) are the caller's: see Schedule.
	Announce(ifname string, addrs []netip.Addr, rounds int) error
}

// PacketAnnouncer sends announcements through AF_PACKET sockets, one per
// interface and EtherType, opened in the network namespace of the thread that
// first announces on it and kept open: closing a packet socket waits for an RCU
// grace period (10 ms and more on a busy host), and 255 instances taking over at
// once each opening and closing their own held a thread apiece meanwhile. An
// interface re-created since (a new index) gets a new socket; one that fails a
// send is closed and opened again on the next announcement. Announcements are
// sent one call at a time.
//
// Each call needs the interface as it is now (its index and MAC: a bond's MAC moves
// with its active slave) and, for IPv6, its link-local address. When many instances
// take over at once their calls queue for mu, and a lookup made after a call began
// is as fresh as one the call would make itself: such a call uses it. So a burst
// of 1 000 takeovers makes a lookup per wave of calls, not per call, and no call
// ever uses what was true before it was made.
type PacketAnnouncer struct {
	mu     sync.Mutex
	conns  map[announceKey]*announceConn
	looked map[string]lookup // by interface name: the latest lookup
}

// lookup is one interface lookup and when it began.
type lookup struct {
	began     time.Time
	ifi       *net.Interface
	linkLocal netip.Addr
	llDone    bool // linkLocal was looked up (IPv6 only)
}

type announceKey struct {
	ifname    string
	etherType int
}

type announceConn struct {
	ifindex int
	c       *packet.Conn
}

var _ Announcer = (*PacketAnnouncer)(nil)

// NewAnnouncer returns an Announcer for the current network namespace.
func NewAnnouncer() *PacketAnnouncer {
	return &PacketAnnouncer{conns: map[announceKey]*announceConn{}, looked: map[string]lookup{}}
}

// Close closes the announcer's sockets.
func (p *PacketAnnouncer) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, c := range p.conns {
		c.c.Close()
		delete(p.conns, k)
	}
}

// dropAll is a socket filter accepting nothing: the announce sockets only
// send, and must not queue the segment's ARP and IPv6 traffic meanwhile.
var dropAll = mustAssemble(bpf.RetConstant{Val: 0})

func mustAssemble(insns ...bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(insns)
	if err != nil {
		panic(err)
	}
	return raw
}

// Announce implements Announcer. It tries every address and returns the
// errors of those it could not announce. The interface and its link-local
// address are looked up once per burst, not per round: 1 000 instances taking
// over at once, five rounds each, made 5 000 netlink requests and 2 500 source
// selections over 500 IPv6 addresses, a third of the takeover's CPU (issue 14).
func (p *PacketAnnouncer) Announce(ifname string, addrs []netip.Addr, rounds int) error {
	if len(addrs) == 0 || rounds <= 0 {
		return nil
	}
	called := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	lk := p.looked[ifname]
	if !lk.began.After(called) {
		lk = lookup{began: time.Now()}
		ifi, err := interfaceByName(ifname)
		if err != nil {
			delete(p.looked, ifname)
			return fmt.Errorf("announce on %s: %w", ifname, err)
		}
		lk.ifi = ifi
		p.looked[ifname] = lk
	}
	ifi := lk.ifi
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("announce on %s: not an Ethernet interface (hardware address %q)", ifname, ifi.HardwareAddr)
	}
	var v4, v6 []netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); a.Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	var errs []error
	if len(v4) > 0 {
		errs = append(errs, p.send(ifi, unix.ETH_P_ARP, ethernet.Broadcast, v4, rounds, func(ip netip.Addr) ([]byte, error) {
			return GARPFrame(ifi.HardwareAddr, ip)
		}))
	}
	if len(v6) > 0 {
		if !lk.llDone {
			lk.linkLocal, lk.llDone = linkLocal(ifi.Index), true
			p.looked[ifname] = lk
		}
		src := lk.linkLocal
		errs = append(errs, p.send(ifi, unix.ETH_P_IPV6, allNodesMAC, v6, rounds, func(ip netip.Addr) ([]byte, error) {
			from := src
			if !from.IsValid() {
				from = ip // no usable link-local address: the VIP is ours too
			}
			return NAFrame(ifi.HardwareAddr, from, ip)
		}))
	}
	return errors.Join(errs...)
}

// interfaceByName looks the interface up with a netlink request that names it. Why not
// net.InterfaceByName: it dumps and parses every interface of the host, and it ran for
// each instance's announcement (a 1 000-instance takeover: 4.5 % of the master's CPU in
// the burst, 14 % of what it allocated; issue 14).
func interfaceByName(name string) (*net.Interface, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil, err
	}
	a := l.Attrs()
	return &net.Interface{Index: a.Index, MTU: a.MTU, Name: a.Name, HardwareAddr: a.HardwareAddr, Flags: a.Flags}, nil
}

// send writes rounds rounds of one frame per address on the interface's socket for
// etherType.
func (p *PacketAnnouncer) send(ifi *net.Interface, etherType int, dst net.HardwareAddr, addrs []netip.Addr, rounds int, build func(netip.Addr) ([]byte, error)) error {
	key := announceKey{ifname: ifi.Name, etherType: etherType}
	ac := p.conns[key]
	if ac != nil && ac.ifindex != ifi.Index {
		ac.c.Close() // bound to an interface that no longer exists
		delete(p.conns, key)
		ac = nil
	}
	if ac == nil {
		c, err := packet.Listen(ifi, packet.Raw, etherType, &packet.Config{Filter: dropAll})
		if err != nil {
			return fmt.Errorf("announce on %s: open packet socket: %w", ifi.Name, err)
		}
		ac = &announceConn{ifindex: ifi.Index, c: c}
		p.conns[key] = ac
	}
	var errs []error
	type frameOf struct {
		ip    netip.Addr
		frame []byte
	}
	frames := make([]frameOf, 0, len(addrs))
	for _, ip := range addrs {
		frame, err := build(ip)
		if err != nil {
			errs = append(errs, fmt.Errorf("announce %v on %s: %w", ip, ifi.Name, err))
			continue
		}
		frames = append(frames, frameOf{ip, frame})
	}
	to := &packet.Addr{HardwareAddr: dst}
burst:
	for range rounds {
		for _, f := range frames {
			if _, err := ac.c.WriteTo(f.frame, to); err != nil {
				// The socket is broken: the rest of the burst would fail too.
				errs = append(errs, fmt.Errorf("announce %v on %s: %w", f.ip, ifi.Name, err))
				break burst
			}
		}
	}
	if len(errs) > 0 {
		// Open afresh next time: the interface may have gone and come back.
		ac.c.Close()
		delete(p.conns, key)
	}
	return errors.Join(errs...)
}

// linkLocal returns a usable (not tentative) link-local address of the interface, the
// source RFC 4861 wants for Neighbor Advertisements; invalid if it has none. It is the
// source the kernel picks for the all-nodes group on that interface (RFC 6724: from the
// interface's own addresses, tentative and DAD-failed ones never), when that is a
// link-local one.
//
// Why not list the interface's addresses: the dump costs as many addresses as the
// interface has, its IPv6 VIPs included, and each instance announces on its own, so at
// 510 IPv6 instances a takeover or garp_master_delay's second burst made 510 dumps of
// 510 addresses (issue 14: the master's CPU at 1 000 instances grew faster than
// linearly). A connected UDP socket asks the kernel's source selection instead: four
// system calls, whatever the number of addresses.
func linkLocal(ifindex int) netip.Addr {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return netip.Addr{}
	}
	defer unix.Close(fd)
	// connect sends nothing; the port is only needed to make it a destination.
	if err := unix.Connect(fd, &unix.SockaddrInet6{Port: 9, ZoneId: uint32(ifindex), Addr: allNodes.As16()}); err != nil {
		return netip.Addr{} // no route: the interface is down or gone
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.Addr{}
	}
	sa6, ok := sa.(*unix.SockaddrInet6)
	if !ok {
		return netip.Addr{}
	}
	if ip := netip.AddrFrom16(sa6.Addr); ip.IsLinkLocalUnicast() {
		return ip
	}
	return netip.Addr{} // only global addresses (a nodad VIP) are usable yet
}
