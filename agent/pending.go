package agent

import "time"

// pendingPoll is how often receiveQueued looks at the socket again while the kernel
// still holds a packet that the socket's reader has not handed over.
const pendingPoll = 200 * time.Microsecond

// defaultPendingWait bounds how long an expired Master_Down_Timer waits for adverts
// still in the kernel's queue: a flood on a shared socket must not hold a real
// takeover back for longer.
const defaultPendingWait = 5 * time.Millisecond

// pendingConn is a packetConn that can tell whether the kernel holds a packet nobody
// read yet (netio.Conn.Pending).
type pendingConn interface{ Pending() bool }

// kernelPending reports whether the socket's receive queue holds a packet its reader
// has not taken yet.
func (so *socket) kernelPending() bool {
	so.connMu.Lock()
	conn := so.conn
	so.connMu.Unlock()
	p, ok := conn.(pendingConn)
	return ok && p.Pending()
}

// receiveQueued hands the state machine every advert that arrived before an expired
// Master_Down_Timer: the ones the socket's reader queued for this instance, the one it is
// handing over, and the ones still in the kernel's queue, which the reader is given a
// moment (at most Agent.pendingWait) to hand over.
//
// Why: when the whole agent was not scheduled for a while (a busy host), the runtime
// may run the expired timer before the socket's reader, and a backup that did hear its
// master would take over. keepalived's scheduler hands a ready socket its packets before
// the read's timeout for the same reason (lib/scheduler.c: thread_fetch_next_queue
// handles the epoll events before the timers). An advert handled here re-arms the
// timer from when it was read, so the takeover waits for a real silence.
//
// Called by onTimer with mu held: meanwhile the reader queues what it reads instead of
// stepping it (deliverPacket), and handed counts it once queued.
func (in *instance) receiveQueued() {
	so := in.sock
	if so != nil {
		// Every packet read so far, and one more if the kernel holds one, must have been
		// handed over. reads is taken first: a packet the reader takes from the kernel
		// after it is counted in neither and waited for through kernelPending.
		want := so.reads.Load()
		if so.kernelPending() {
			want++
		}
		if so.handed.Load() < want {
			limit := time.Now().Add(in.a.pendingWait)
			poll := time.NewTimer(pendingPoll)
			defer poll.Stop()
			for time.Now().Before(limit) {
				if so.handed.Load() >= want && !so.kernelPending() {
					break
				}
				poll.Reset(pendingPoll)
				select {
				case p := <-in.packets:
					in.receive(p)
					in.queued.Add(-1)
				case <-poll.C:
				}
			}
		}
	}
	for range len(in.packets) {
		in.receive(<-in.packets)
		in.queued.Add(-1)
	}
}
