package agent

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Alive reports whether every instance is taking work: each is asked to run an
// empty call within the given time. systemd's watchdog is fed only when this succeeds
// (cmd/hagent), so an instance stuck on a lock, a blocking syscall or a stopped process gets
// the agent restarted, where a ticker goroutine of its own would have kept it alive.
//
// An instance that stopped meanwhile (a reload removed it) is not stuck and does not
// count.
func (a *Agent) Alive(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	insts := a.instanceList()
	errs := make(chan error, len(insts))
	for _, in := range insts {
		go func() {
			err := in.call(ctx, func(time.Time) {})
			select {
			case <-in.stopped:
				err = nil
			default:
			}
			if err != nil {
				err = fmt.Errorf("instance %s has not answered for %v: %w", in.name, within, err)
			}
			errs <- err
		}()
	}
	var all []error
	for range insts {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}
