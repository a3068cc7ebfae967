package agent

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/hagent-dev/hagent/agent/config"
)

// Cleanup removes every VIP of the config from this host, whatever state left them
// there. It is `hagent --cleanup`, the systemd unit's ExecStopPost: an agent that was
// killed (SIGKILL, OOM) must not leave the address on two hosts.
func Cleanup(cfg *config.Config, b Binder, log *slog.Logger) (removed int, err error) {
	for _, ic := range cfg.Instances {
		for _, list := range [][]config.VIP{ic.VIPs, ic.ExcludedVIPs} {
			for _, v := range list {
				vv := vipOf(ic, v)
				changed, rerr := b.Remove(vv)
				if rerr != nil {
					err = errors.Join(err, fmt.Errorf("%s: remove %s: %w", ic.Name, vv, rerr))
					continue
				}
				if changed {
					removed++
					log.Info("VIP removed", "instance", ic.Name, "vip", vv.String())
				}
			}
		}
	}
	return removed, err
}
