package vip

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

const ethHeaderLen = 14

// GARPFrame builds the gratuitous ARP keepalived 2.2.7 sends for an IPv4
// VIP: an ARP request (op 1) whose sender and target IP are both the VIP,
// sender MAC the interface's, target MAC ff:ff:ff:ff:ff:ff, in an Ethernet
// broadcast frame. The frame is 42 bytes, unpadded, as keepalived writes it;
// the driver pads it on the wire.
func GARPFrame(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	b, err := arpRequestFrame(mac, ip, ethernet.Broadcast, ip)
	if err != nil {
		return nil, fmt.Errorf("gratuitous ARP for %v from %v: %w", ip, mac, err)
	}
	return b, nil
}

// ARPProbeFrame builds an ARP probe for ip (RFC 5227 2.1.1): an ARP request from mac
// with sender address 0.0.0.0 and target address ip, in an Ethernet broadcast frame. A
// host that holds ip answers it; nobody's neighbour cache learns from it.
func ARPProbeFrame(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	b, err := arpRequestFrame(mac, netip.IPv4Unspecified(), net.HardwareAddr{0, 0, 0, 0, 0, 0}, ip)
	if err != nil {
		return nil, fmt.Errorf("ARP probe for %v from %v: %w", ip, mac, err)
	}
	return b, nil
}

// arpRequestFrame is an ARP request from mac in an Ethernet broadcast frame.
func arpRequestFrame(mac net.HardwareAddr, sender netip.Addr, targetMAC net.HardwareAddr, target netip.Addr) ([]byte, error) {
	p, err := arp.NewPacket(arp.OperationRequest, mac, sender, targetMAC, target)
	if err != nil {
		return nil, err
	}
	body, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return ethFrame(ethernet.Broadcast, mac, ethernet.EtherTypeARP, body), nil
}

// allNodes is the destination of unsolicited Neighbor Advertisements
// (RFC 4861 section 7.2.6), and allNodesMAC its Ethernet mapping.
var (
	allNodes    = netip.MustParseAddr("ff02::1")
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
)

// NAFrame builds the unsolicited Neighbor Advertisement announcing an IPv6
// VIP (RFC 4861 section 7.2.6): target the VIP, Override set, Solicited
// clear, a target link-layer address option with the interface's MAC, from
// src (the interface's link-local address) to ff02::1 with hop limit 255,
// ICMPv6 checksum filled in.
func NAFrame(mac net.HardwareAddr, src, target netip.Addr) ([]byte, error) {
	if len(mac) != 6 || !src.Is6() || !target.Is6() || target.Is4In6() {
		return nil, fmt.Errorf("neighbor advertisement for %v from %v %v: need a MAC-48 and IPv6 addresses", target, src, mac)
	}
	na := &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	icmp, err := ndp.MarshalMessageChecksum(na, src, allNodes)
	if err != nil {
		return nil, fmt.Errorf("neighbor advertisement for %v: %w", target, err)
	}
	ip := make([]byte, 40, 40+len(icmp))
	ip[0] = 6 << 4 // version 6, traffic class 0, flow label 0
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(icmp)))
	ip[6] = 58  // next header: ICMPv6
	ip[7] = 255 // hop limit: receivers drop NDP with anything else
	copy(ip[8:24], src.AsSlice())
	copy(ip[24:40], allNodes.AsSlice())
	return ethFrame(allNodesMAC, mac, ethernet.EtherTypeIPv6, append(ip, icmp...)), nil
}

func ethFrame(dst, src net.HardwareAddr, etherType ethernet.EtherType, payload []byte) []byte {
	b := make([]byte, ethHeaderLen, ethHeaderLen+len(payload))
	copy(b[0:6], dst)
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:14], uint16(etherType))
	return append(b, payload...)
}
