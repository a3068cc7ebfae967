package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Wire constants of RFC 3768 (VRRPv2) and RFC 5798 / RFC 9568 (VRRPv3).
const (
	// Protocol is the IP protocol number of VRRP.
	Protocol = 112
	// TypeAdvertisement is the only packet type VRRP defines.
	TypeAdvertisement = 1
	// HeaderLen is the fixed part of a VRRP packet, before the addresses.
	HeaderLen = 8
	// AuthDataLen is the size of the v2 authentication data that follows the addresses.
	AuthDataLen = 8
	// MaxAddrs is the most addresses one advert can carry (the count is one octet).
	MaxAddrs = 255
)

// AuthType is the v2 authentication type (RFC 2338 section 5.3.6; RFC 3768 keeps the field).
type AuthType uint8

const (
	AuthNone AuthType = 0
	AuthPass AuthType = 1 // "simple text password", keepalived's auth_type PASS
	AuthAH   AuthType = 2 // IP Authentication Header, keepalived's auth_type AH
)

func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("auth(%d)", uint8(a))
}

// ChecksumMode chooses the IPv4 pseudo-header of the VRRPv3 checksum. RFC 5798 5.2.8
// puts the IP destination in it, and so does keepalived since 1.3.6 (see
// testdata/keepalived-v3.pcap). keepalived up to 1.3.5 always put the multicast group
// 224.0.0.18 there, even when it sent by unicast; keepalived 2.2.7 still accepts and can
// send that checksum (`old_unicast_checksum`, vrrp.c: vrrp_check_packet and
// vrrp_build_vrrp). VRRPv2 never uses a pseudo-header; IPv6 always uses the real one.
type ChecksumMode uint8

const (
	// ChecksumPseudoHeader is RFC 5798's checksum, what keepalived 2.2.7 sends.
	ChecksumPseudoHeader ChecksumMode = iota
	// ChecksumGroupPseudoHeader is keepalived's pre-1.3.6 checksum: the pseudo-header
	// carries the VRRP multicast group as destination, whatever the IP header says.
	ChecksumGroupPseudoHeader
)

func (m ChecksumMode) String() string {
	switch m {
	case ChecksumPseudoHeader:
		return "rfc5798"
	case ChecksumGroupPseudoHeader:
		return "pre-1.3.6"
	}
	return fmt.Sprintf("checksum(%d)", uint8(m))
}

// GroupIPv4 is the VRRP IPv4 multicast group (RFC 5798 5.1.1.2), also the destination
// of the pre-1.3.6 pseudo-header.
var GroupIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})

// Advert is one decoded VRRP advertisement. It holds exactly what is on the wire; the
// state machine, not the codec, judges VRID, priority, auth and interval.
type Advert struct {
	Version  uint8 // 2 or 3
	Type     uint8 // TypeAdvertisement
	VRID     uint8
	Priority uint8
	// AdverInt is the advertisement interval as sent: whole seconds for v2 (8 bits),
	// centiseconds for v3 (12 bits).
	AdverInt uint16
	AuthType AuthType // v2 only
	AuthData [AuthDataLen]byte
	Checksum uint16 // as received, or as computed by Marshal
	Addrs    []netip.Addr
}

// Cause names why a packet was not accepted. The state machine keeps one counter per
// cause; the codec reports the wire-level ones.
type Cause uint8

const (
	CauseNone Cause = iota
	CauseTTL
	CauseVersion
	CauseType
	CauseChecksum
	CauseLength   // shorter than its header, addresses and (v2) auth data need
	CauseTrailing // longer than they say (vrrp.c: vrrp_check_packet, "vrrp packet too long")
	CauseVRID
	CauseAuth
	CauseInterval
	CauseDestination // multicast to a unicast instance or unicast to a multicast one
	CauseAddrCount   // number of addresses is not ours (vrrp_check_packet: "unexpected ip number count")
	CauseAddrList    // same number, different addresses (vrrp_check_packet: "not present in MASTER advert")
	CauseUnicastSrc  // check_unicast_src: the sender is not a unicast_peer (vrrp_check_packet)
	causeCount
)

// Causes lists every cause in counter order, for tables and metrics.
var Causes = []Cause{CauseTTL, CauseVersion, CauseType, CauseChecksum, CauseLength, CauseTrailing, CauseVRID, CauseAuth, CauseInterval, CauseDestination, CauseAddrCount, CauseAddrList, CauseUnicastSrc}

func (c Cause) String() string {
	switch c {
	case CauseNone:
		return "none"
	case CauseTTL:
		return "ttl"
	case CauseVersion:
		return "version"
	case CauseType:
		return "type"
	case CauseChecksum:
		return "checksum"
	case CauseLength:
		return "length"
	case CauseTrailing:
		return "trailing_bytes"
	case CauseVRID:
		return "vrid"
	case CauseAuth:
		return "auth"
	case CauseInterval:
		return "interval"
	case CauseDestination:
		return "destination"
	case CauseAddrCount:
		return "addr_count"
	case CauseAddrList:
		return "addr_list"
	case CauseUnicastSrc:
		return "unicast_src"
	}
	return fmt.Sprintf("cause(%d)", uint8(c))
}

// RecvError is a packet that fails a receive check.
type RecvError struct {
	Cause  Cause
	Reason string
}

func (e *RecvError) Error() string { return e.Cause.String() + ": " + e.Reason }

func recvErr(c Cause, format string, args ...any) error {
	return &RecvError{Cause: c, Reason: fmt.Sprintf(format, args...)}
}

// CauseOf returns the receive-check cause of err, or CauseNone.
func CauseOf(err error) Cause {
	if err == nil {
		// Before re, which escapes to errors.As: a packet that passes costs no allocation.
		return CauseNone
	}
	var re *RecvError
	if errors.As(err, &re) {
		return re.Cause
	}
	return CauseNone
}

// ParseOptions carries what the checksum needs beyond the VRRP bytes.
type ParseOptions struct {
	// Src and Dst are the IP header's addresses; they decide the family and are part of
	// the v3 pseudo-header.
	Src, Dst netip.Addr
	// Checksum selects the v3-over-IPv4 checksum; ignored for v2 and IPv6.
	Checksum ChecksumMode
	// Group is the destination ChecksumGroupPseudoHeader puts in the pseudo-header:
	// keepalived's global vrrp_mcast_group4 (vrrp.c vrrp_check_packet); zero: GroupIPv4.
	Group netip.Addr
	// AddrBuf, when its capacity holds the advert's addresses, is where Advert.Addrs is
	// decoded (from index 0), instead of a new slice: a caller that parses one advert
	// after another reuses it, and must not keep Addrs past the next Parse into it.
	AddrBuf []netip.Addr
}

// Parse decodes a VRRP packet (the IP payload) and checks what the wire alone can tell:
// length, version, type and checksum.
func Parse(b []byte, o ParseOptions) (Advert, error) {
	var a Advert
	if len(b) < HeaderLen {
		return a, recvErr(CauseLength, "packet of %d bytes is shorter than the %d-byte header", len(b), HeaderLen)
	}
	a.Version = b[0] >> 4
	a.Type = b[0] & 0x0f
	if a.Version != 2 && a.Version != 3 {
		return a, recvErr(CauseVersion, "version %d is neither 2 nor 3", a.Version)
	}
	if a.Type != TypeAdvertisement {
		return a, recvErr(CauseType, "packet type %d is not an advertisement", a.Type)
	}
	v6 := o.Src.Is6() && !o.Src.Is4In6()
	if a.Version == 2 && v6 {
		return a, recvErr(CauseVersion, "VRRPv2 is IPv4 only")
	}
	a.VRID = b[1]
	a.Priority = b[2]
	count := int(b[3])
	addrLen := 4
	if v6 {
		addrLen = 16
	}
	want := HeaderLen + count*addrLen
	if a.Version == 2 {
		want += AuthDataLen
		a.AuthType = AuthType(b[4])
		a.AdverInt = uint16(b[5])
	} else {
		a.AdverInt = binary.BigEndian.Uint16(b[4:6]) & 0x0fff
	}
	// RFC 5798 7.1 "MUST verify that the received packet contains the complete VRRPv3
	// packet"; keepalived (vrrp.c: vrrp_check_packet) also drops a longer one: the
	// kernel hands a raw socket exactly the IP payload, so extra bytes are not padding.
	if len(b) < want {
		return a, recvErr(CauseLength, "packet of %d bytes is shorter than the %d its %d addresses need", len(b), want, count)
	}
	if len(b) > want {
		return a, recvErr(CauseTrailing, "packet of %d bytes is longer than the %d its %d addresses need", len(b), want, count)
	}
	a.Checksum = binary.BigEndian.Uint16(b[6:8])
	if sum := checksum(b, a.Version, o.Src, o.Dst, o.Checksum, o.Group); sum != 0 {
		return a, recvErr(CauseChecksum, "checksum 0x%04x does not verify", a.Checksum)
	}
	if count > 0 {
		if cap(o.AddrBuf) >= count {
			a.Addrs = o.AddrBuf[:count]
		} else {
			a.Addrs = make([]netip.Addr, count)
		}
	}
	for i := range count {
		off := HeaderLen + i*addrLen
		if v6 {
			a.Addrs[i] = netip.AddrFrom16([16]byte(b[off : off+16]))
		} else {
			a.Addrs[i] = netip.AddrFrom4([4]byte(b[off : off+4]))
		}
	}
	if a.Version == 2 {
		copy(a.AuthData[:], b[want-AuthDataLen:])
		if a.AuthType == AuthAH {
			return a, recvErr(CauseAuth, "IPsec AH authentication is not supported (deprecated by RFC 3768); use auth_type PASS or none")
		}
	}
	return a, nil
}

// Marshal encodes the advert with its checksum computed for the given addresses, and
// sets a.Checksum to it. The address family of the VIPs must match src/dst.
func (a *Advert) Marshal(src, dst netip.Addr, mode ChecksumMode) ([]byte, error) {
	return a.MarshalGroup(src, dst, mode, netip.Addr{})
}

// MarshalGroup is Marshal with the IPv4 group that ChecksumGroupPseudoHeader puts in the
// pseudo-header (keepalived's vrrp_mcast_group4, vrrp.c vrrp_build_vrrp); zero: GroupIPv4.
func (a *Advert) MarshalGroup(src, dst netip.Addr, mode ChecksumMode, group netip.Addr) ([]byte, error) {
	if a.Version != 2 && a.Version != 3 {
		return nil, fmt.Errorf("marshal advert: version %d is neither 2 nor 3", a.Version)
	}
	if len(a.Addrs) > MaxAddrs {
		return nil, fmt.Errorf("marshal advert: %d addresses, at most %d fit", len(a.Addrs), MaxAddrs)
	}
	v6 := src.Is6() && !src.Is4In6()
	if a.Version == 2 && v6 {
		return nil, errors.New("marshal advert: VRRPv2 is IPv4 only")
	}
	addrLen := 4
	if v6 {
		addrLen = 16
	}
	n := HeaderLen + len(a.Addrs)*addrLen
	if a.Version == 2 {
		n += AuthDataLen
	}
	b := make([]byte, n)
	typ := a.Type
	if typ == 0 {
		typ = TypeAdvertisement
	}
	b[0] = a.Version<<4 | typ&0x0f
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = uint8(len(a.Addrs))
	if a.Version == 2 {
		if a.AdverInt > 0xff {
			return nil, fmt.Errorf("marshal advert: v2 interval %d s does not fit 8 bits", a.AdverInt)
		}
		b[4] = uint8(a.AuthType)
		b[5] = uint8(a.AdverInt)
		copy(b[n-AuthDataLen:], a.AuthData[:])
	} else {
		if a.AdverInt > 0x0fff {
			return nil, fmt.Errorf("marshal advert: v3 interval %d cs does not fit 12 bits", a.AdverInt)
		}
		binary.BigEndian.PutUint16(b[4:6], a.AdverInt)
	}
	for i, addr := range a.Addrs {
		off := HeaderLen + i*addrLen
		if v6 {
			if !addr.Is6() || addr.Is4In6() {
				return nil, fmt.Errorf("marshal advert: %s in an IPv6 advert", addr)
			}
			s := addr.As16()
			copy(b[off:], s[:])
		} else {
			if !addr.Is4() {
				return nil, fmt.Errorf("marshal advert: %s in an IPv4 advert", addr)
			}
			s := addr.As4()
			copy(b[off:], s[:])
		}
	}
	a.Checksum = checksum(b, a.Version, src, dst, mode, group)
	binary.BigEndian.PutUint16(b[6:8], a.Checksum)
	return b, nil
}

// PassAuthData is the v2 PASS authentication data for a password: keepalived uses only
// its first 8 bytes and pads with zeros.
func PassAuthData(pass string) [AuthDataLen]byte {
	var d [AuthDataLen]byte
	copy(d[:], pass)
	return d
}

// checksum returns the Internet checksum (RFC 1071) of b, with b's checksum field as it
// is, and for v3 the pseudo-header the RFC and the mode ask for. Over a packet whose
// checksum is right it returns 0; over a packet whose checksum field is 0 it returns the
// value to put there.
func checksum(b []byte, version uint8, src, dst netip.Addr, mode ChecksumMode, group netip.Addr) uint16 {
	var sum uint32
	if version == 3 {
		v6 := src.Is6() && !src.Is4In6()
		if !v6 && mode == ChecksumGroupPseudoHeader {
			dst = GroupIPv4
			if group.IsValid() {
				dst = group
			}
		}
		sum += pseudoHeaderSum(src, dst, len(b), v6)
	}
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

func pseudoHeaderSum(src, dst netip.Addr, length int, v6 bool) uint32 {
	var sum uint32
	add := func(p []byte) {
		for i := 0; i+1 < len(p); i += 2 {
			sum += uint32(p[i])<<8 | uint32(p[i+1])
		}
	}
	if v6 {
		s, d := src.As16(), dst.As16()
		add(s[:])
		add(d[:])
		// RFC 8200 8.1: upper-layer length (32 bits), zero, next header.
		sum += uint32(length>>16) + uint32(length&0xffff)
	} else {
		s, d := src.Unmap().As4(), dst.Unmap().As4()
		add(s[:])
		add(d[:])
		sum += uint32(length)
	}
	sum += Protocol
	return sum
}
