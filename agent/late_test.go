package agent

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// lockedBuffer is a log destination that tests read while the agent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A master held up past its Adver_Timer by an advert interval or more says so: the hook
// hears how late, and the log has one warning, not one per late advert.
func TestLateAdvertIsReported(t *testing.T) {
	t.Parallel()
	const interval, hold = 50 * time.Millisecond, 300 * time.Millisecond
	var (
		mu    sync.Mutex
		lates []time.Duration
	)
	logs := &lockedBuffer{}
	// VRRPv3: version 2 has whole-second intervals only.
	conf := strings.Replace(seedConf(100), "advert_int 1", "version 3\n    advert_int 0.05", 1)
	h := startWith(t, conf, func(a *Agent) {
		a.log = slog.New(slog.NewTextHandler(logs, nil))
		a.onLate = func(_ string, late time.Duration) {
			mu.Lock()
			lates = append(lates, late)
			mu.Unlock()
		}
	})
	waitFor(t, 5*time.Second, "MASTER", func() bool { return h.instanceState(t).GetState() == hactlv1.State_STATE_MASTER })
	h.a.mu.Lock()
	in := h.a.instances["VI_1"]
	h.a.mu.Unlock()

	// Held twice, as a host that stops the agent's threads would: the second late advert
	// within lateLogEvery is counted, not logged.
	for range 2 {
		in.mu.Lock()
		time.Sleep(hold) // the stall itself, not synchronisation
		in.unlock()
		waitFor(t, 5*time.Second, "the advert after the hold", func() bool {
			return h.instanceState(t).GetAdvertsSent() > 0 && len(in.packets) == 0
		})
		time.Sleep(2 * interval)
	}
	mu.Lock()
	defer mu.Unlock()
	held := 0
	for _, l := range lates {
		// The deadline fell within the first interval of the hold.
		if l >= hold-interval {
			held++
		}
	}
	if held < 2 {
		t.Fatalf("late adverts reported %v, want two of at least %v (held %v twice at advert_int %v)", lates, hold-interval, hold, interval)
	}
	if n := strings.Count(logs.String(), "advert sent late"); n != 1 {
		t.Fatalf("%d late-advert warnings logged, want 1 (the second within %v is counted):\n%s", n, lateLogEvery, logs.String())
	}
}
