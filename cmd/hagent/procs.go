package main

import (
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
)

// oneProcMaxInstances is the most instances hagent runs on one P.
const oneProcMaxInstances = 16

// oneProc says whether cfg runs on one P (GOMAXPROCS 1): a few instances, all
// advertising every second or slower, and no real-time priority asked for (rt).
//
// Why: such an agent spends nearly all its time waiting, and each wake-up (an advert
// to send or read) cost a second thread too: the runtime hands work made ready to the
// idle P, whose thread looks for work and sleeps again. What one P gives up is running
// two things at once. At an interval of a second, an advert waiting a few milliseconds
// behind other work (the runtime preempts every 10 ms; netlink requests and scripts
// block in the kernel, and the runtime hands their P on) is nothing against
// Master_Down_Interval, more than three intervals. Many instances taking over at once
// (a link loss) are another matter: on one P their takeovers ran one after the other,
// about 0.4 ms each, and at 255 instances the last VIP came 82-112 ms after the first
// (22-54 ms on two Ps) and 28 of 765 more than 100 ms after Master_Down_Interval
// (lab/results/bench-2026-11-30-eff14-summary.md). Sub-second intervals keep the
// default, so that a P stays free for the adverts whatever the API serves (issue 16:
// 200 Watch clients at advert_int 0.01); so does a real-time priority, which asks for
// timing first.
func oneProc(cfg *config.Config, rt int) bool {
	if rt > 0 || len(cfg.Instances) == 0 || len(cfg.Instances) > oneProcMaxInstances {
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
		p.log.Info("one P (GOMAXPROCS 1): a few instances, every advert interval a second or longer")
	case !one && p.one:
		runtime.SetDefaultGOMAXPROCS()
		p.one = false
		p.log.Info("default GOMAXPROCS", "gomaxprocs", runtime.GOMAXPROCS(0))
	}
}
