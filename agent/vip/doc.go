// Package vip puts virtual addresses on interfaces and tells the segment
// about them: netlink address add/remove (Binder), gratuitous ARP and
// unsolicited Neighbor Advertisements (Announcer, with the frames built by
// pure functions), and a kernel watch (Watch) that reports addresses removed
// behind the agent's back and interfaces going down.
package vip
