// Package netio carries VRRP advertisements on the wire: one raw IP
// protocol-112 socket per interface and address family, bound to its
// device, joined to the VRRP multicast group, sending with TTL / hop limit
// 255 and without multicast loopback, as keepalived does.
//
// The package moves bytes only. The VRRP payload is encoded, checksummed
// and validated by the caller (agent/vrrp); a Conn hands back every packet
// the kernel delivers, with the header fields the receive checks of RFC 5798
// section 7.1 need (source, destination, TTL, arrival interface).
//
// Sockets live in the network namespace of the thread that opens them;
// InNamespace runs code in a named namespace, for tests and the lab.
package netio
