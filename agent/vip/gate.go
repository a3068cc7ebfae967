package vip

// netlinkSlots bounds the netlink requests this process has in flight. The netlink
// library makes blocking syscalls (not through the runtime's poller), and the Go
// runtime gives every goroutine blocked in one an OS thread of its own, which it keeps
// for the life of the process: 255 instances starting, or taking over, at once grew
// the agent to over 100 threads and their stacks. A request takes tens of
// microseconds, so a few at a time bind 255 VIPs in a few milliseconds all the same.
var netlinkSlots = make(chan struct{}, 4)

// WithNetlink runs fn, which makes netlink requests, once a slot is free.
func WithNetlink(fn func()) {
	netlinkSlots <- struct{}{}
	defer func() { <-netlinkSlots }()
	fn()
}
