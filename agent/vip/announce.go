package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Announcer tells the segment where virtual addresses now live.
type Announcer interface {
	// Announce sends one gratuitous ARP per IPv4 address and one
	// unsolicited Neighbor Advertisement per IPv6 address out of ifname.
	// Repeats and delays (garp_master_repeat, garp_master_delay,
	// garp_master_refresh) are the caller's: see Schedule.
	Announce(ifname string, addrs []netip.Addr) error
}

// PacketAnnouncer sends announcements through AF_PACKET sockets, opened per
// call in the calling thread's network namespace, so that an interface that
// was recreated since the last burst is found again.
type PacketAnnouncer struct{}

var _ Announcer = PacketAnnouncer{}

// NewAnnouncer returns the Announcer of the current network namespace.
func NewAnnouncer() PacketAnnouncer { return PacketAnnouncer{} }

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
// errors of those it could not announce.
func (PacketAnnouncer) Announce(ifname string, addrs []netip.Addr) error {
	if len(addrs) == 0 {
		return nil
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("announce on %s: %w", ifname, err)
	}
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
		errs = append(errs, send(ifi, unix.ETH_P_ARP, ethernet.Broadcast, v4, func(ip netip.Addr) ([]byte, error) {
			return GARPFrame(ifi.HardwareAddr, ip)
		}))
	}
	if len(v6) > 0 {
		src := linkLocal(ifi.Index)
		errs = append(errs, send(ifi, unix.ETH_P_IPV6, allNodesMAC, v6, func(ip netip.Addr) ([]byte, error) {
			from := src
			if !from.IsValid() {
				from = ip // no usable link-local address: the VIP is ours too
			}
			return NAFrame(ifi.HardwareAddr, from, ip)
		}))
	}
	return errors.Join(errs...)
}

func send(ifi *net.Interface, etherType int, dst net.HardwareAddr, addrs []netip.Addr, build func(netip.Addr) ([]byte, error)) error {
	c, err := packet.Listen(ifi, packet.Raw, etherType, &packet.Config{Filter: dropAll})
	if err != nil {
		return fmt.Errorf("announce on %s: open packet socket: %w", ifi.Name, err)
	}
	defer c.Close()
	var errs []error
	for _, ip := range addrs {
		frame, err := build(ip)
		if err == nil {
			_, err = c.WriteTo(frame, &packet.Addr{HardwareAddr: dst})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("announce %v on %s: %w", ip, ifi.Name, err))
		}
	}
	return errors.Join(errs...)
}

// linkLocal returns a usable (not tentative) link-local address of the
// interface, the source RFC 4861 wants for Neighbor Advertisements; invalid
// if it has none.
func linkLocal(ifindex int) netip.Addr {
	addrs, err := netlink.AddrList(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: ifindex}}, netlink.FAMILY_V6)
	if err != nil {
		return netip.Addr{}
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if ok && ip.IsLinkLocalUnicast() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
			return ip
		}
	}
	return netip.Addr{}
}
