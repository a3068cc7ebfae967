package vip

// netlinkWorkers run every netlink request of the agent, a few at a time. The netlink
// library makes blocking syscalls (not through the runtime's poller), and the Go runtime
// gives every goroutine blocked in one an OS thread of its own, which it keeps for the
// life of the process: 255 instances starting, or taking over, at once grew the agent
// to over 100 threads. And parsing the replies takes deep stacks: run on the caller's
// goroutine they grew every instance loop's stack, which the runtime keeps grown.
// A request takes tens of microseconds, so a few workers bind 255 VIPs in a few
// milliseconds all the same.
const netlinkWorkers = 4

var netlinkJobs = make(chan netlinkJob)

type netlinkJob struct {
	fn   func()
	done chan struct{}
}

func init() {
	for range netlinkWorkers {
		go func() {
			for j := range netlinkJobs {
				j.fn()
				close(j.done)
			}
		}()
	}
}

// WithNetlink runs fn, which makes netlink requests, on one of the netlink workers and
// waits for it. The workers' threads are in the process's network namespace: fn must
// not rely on the caller's thread being elsewhere (a Handle made for another namespace
// works anywhere).
func WithNetlink(fn func()) {
	j := netlinkJob{fn: fn, done: make(chan struct{})}
	netlinkJobs <- j
	<-j.done
}
