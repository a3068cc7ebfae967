package vip

import "net/netip"

// Event is something the kernel reported about a watched interface: one of
// AddrAdded, AddrRemoved, LinkUp, LinkDown or WatchError.
type Event interface{ isEvent() }

// AddrAdded: an address appeared on Ifname.
type AddrAdded struct {
	Ifname string
	Prefix netip.Prefix
}

// AddrRemoved: an address left Ifname, by hand or by the kernel. A master
// puts its VIPs back.
type AddrRemoved struct {
	Ifname string
	Prefix netip.Prefix
}

// LinkUp: Ifname is administratively up and has carrier (IFF_UP and
// IFF_RUNNING).
type LinkUp struct {
	Ifname string
}

// LinkDown: Ifname cannot carry traffic; the instance on it is in FAULT.
type LinkDown struct {
	Ifname string
	// Reason is "admin down", "no carrier" or "deleted".
	Reason string
}

// WatchError: the kernel subscription reported a problem; events may have
// been lost, so the caller should re-read the state it depends on. If the
// subscription died, the event channel closes after this.
type WatchError struct {
	Err error
}

func (AddrAdded) isEvent()   {}
func (AddrRemoved) isEvent() {}
func (LinkUp) isEvent()      {}
func (LinkDown) isEvent()    {}
func (WatchError) isEvent()  {}
