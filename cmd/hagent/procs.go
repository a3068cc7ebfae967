package main

import (
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
)

// oneProc says whether cfg runs on one P (GOMAXPROCS 1): every instance advertises
// every second or slower, and no real-time priority was asked for (rt).
//
// Why: such an agent spends nearly all its time waiting, and each wake-up (an advert
// to send, a burst of adverts read) cost a second thread too: the runtime hands work
// made ready to the idle P, whose thread looks for work and sleeps again. A backup of
// 255 instances used a quarter to a third less CPU on one P (side by side, same
// segment). What one P gives up is running two things at once: at an interval of a
// second, an advert waiting a few milliseconds behind other work (the runtime
// preempts every 10 ms; netlink requests and scripts block in the kernel, and the
// runtime hands their P on) is nothing against Master_Down_Interval, more than three
// intervals. Sub-second intervals keep the default, so that a P stays free for the
// adverts whatever the API serves (issue 16: 200 Watch clients at advert_int 0.01);
// so does a real-time priority, which asks for timing first.
func oneProc(cfg *config.Config, rt int) bool {
	if rt > 0 || len(cfg.Instances) == 0 {
		return false
	}
	for _, in := range cfg.Instances {
		if in.AdvertInt < time.Second {
			return false
		}
	}
	return true
}

// procs applies oneProc to the Go runtime, unless GOMAXPROCS is set in the
// environment; a reload applies it again.
type procs struct {
	log *slog.Logger
	one bool // GOMAXPROCS is 1 by our choice
}

func (p *procs) apply(cfg *config.Config, rt int) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	switch one := oneProc(cfg, rt); {
	case one && !p.one:
		runtime.GOMAXPROCS(1)
		p.one = true
		p.log.Info("one P (GOMAXPROCS 1): every advert interval is a second or longer")
	case !one && p.one:
		runtime.SetDefaultGOMAXPROCS()
		p.one = false
		p.log.Info("default GOMAXPROCS: an advert interval under a second", "gomaxprocs", runtime.GOMAXPROCS(0))
	}
}
