package lab

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// userHZ is the unit of /proc/stat's times (USER_HZ, 100 on Linux).
const userHZ = 100

// StealSampler reads the hypervisor's steal time (/proc/stat: time a vCPU wanted to run
// while the host ran something else) every few milliseconds, so that a silence seen on
// the bridge can be matched with the vCPUs being away: the guest's scheduler never ran
// in it, whatever the priorities (issue 16's shared gaps).
type StealSampler struct {
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples []stealSample
}

type stealSample struct {
	at    time.Time
	ticks []uint64 // steal per CPU, in USER_HZ ticks
}

// StartStealSampler samples every interval until Stop.
func StartStealSampler(interval time.Duration) *StealSampler {
	s := &StealSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if ticks, err := readSteal(); err == nil {
				s.mu.Lock()
				s.samples = append(s.samples, stealSample{at: time.Now(), ticks: ticks})
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling.
func (s *StealSampler) Stop() {
	close(s.stop)
	<-s.done
}

// Total is the steal time of every CPU over the whole sampling, summed.
func (s *StealSampler) Total() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) < 2 {
		return 0
	}
	return stealBetween(s.samples[0], s.samples[len(s.samples)-1])
}

// Within is the steal time of every CPU, summed, between the last sample before from
// and the first after to (so a little more than the span), within the sampling.
func (s *StealSampler) Within(from, to time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) < 2 {
		return 0
	}
	a, b := &s.samples[0], &s.samples[len(s.samples)-1]
	found := false
	for i := range s.samples {
		x := &s.samples[i]
		if !x.at.After(from) {
			a = x
		}
		if !found && !x.at.Before(to) {
			b, found = x, true
		}
	}
	return stealBetween(*a, *b)
}

func stealBetween(a, b stealSample) time.Duration {
	var d uint64
	for i := range min(len(a.ticks), len(b.ticks)) {
		if b.ticks[i] > a.ticks[i] {
			d += b.ticks[i] - a.ticks[i]
		}
	}
	return time.Duration(d) * time.Second / userHZ
}

// readSteal is the steal column (the eighth number) of every cpuN line of /proc/stat.
func readSteal() ([]uint64, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ticks []uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "cpu") || strings.HasPrefix(line, "cpu ") {
			if len(ticks) > 0 {
				break // the cpuN lines come together
			}
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 9 {
			continue
		}
		v, err := strconv.ParseUint(fields[8], 10, 64)
		if err != nil {
			return nil, err
		}
		ticks = append(ticks, v)
	}
	return ticks, sc.Err()
}
