package netio

import "net/netip"

// defaultReceiveBuffer is the socket receive buffer a Conn asks for. A flood
// of junk protocol-112 packets must not fill the queue so that a real
// advertisement is dropped before the agent reads it; 1 MiB holds thousands
// of adverts.
const defaultReceiveBuffer = 1 << 20

// Option tunes Listen.
type Option func(*options)

type options struct {
	receiveBuffer int
	joinGroup     bool
	group         netip.Addr // zero: the family's VRRP group
}

func defaultOptions() options {
	return options{receiveBuffer: defaultReceiveBuffer, joinGroup: true}
}

// WithReceiveBuffer sets the socket receive buffer size in bytes
// (SO_RCVBUFFORCE, falling back to SO_RCVBUF, which the kernel caps at
// net.core.rmem_max).
func WithReceiveBuffer(bytes int) Option {
	return func(o *options) { o.receiveBuffer = bytes }
}

// UnicastOnly does not join the VRRP multicast group: the Conn receives only
// adverts sent to one of the interface's own addresses, as keepalived does
// for an instance with unicast_peer.
func UnicastOnly() Option {
	return func(o *options) { o.joinGroup = false }
}

// WithGroup joins group instead of the family's VRRP group (224.0.0.18, ff02::12):
// keepalived's vrrp_mcast_group4 / vrrp_mcast_group6 / mcast_dst_ip.
func WithGroup(group netip.Addr) Option {
	return func(o *options) { o.group = group }
}
