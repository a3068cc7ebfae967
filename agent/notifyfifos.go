package agent

import (
	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/notifyfifo"
	"github.com/hagent-dev/hagent/agent/script"
	"github.com/hagent-dev/hagent/agent/vrrp"
)

// fifoSet is the open notify FIFOs of the running config: global_defs
// notify_fifo and vrrp_notify_fifo, each line going to both, as keepalived
// 2.2.7's vrrp_notify.c notify_fifo writes it.
type fifoSet struct {
	conf  [2]config.NotifyFIFO // as configured, to tell whether a reload changes them
	fifos []*notifyfifo.FIFO
}

// openFIFOs opens the config's notify FIFOs and starts their scripts, before the
// instances start (keepalived: vrrp_complete_init's notify_fifo_open). A FIFO that
// cannot be opened is logged and left out, as keepalived does.
func (a *Agent) openFIFOs(g config.Global) *fifoSet {
	set := &fifoSet{conf: [2]config.NotifyFIFO{g.NotifyFIFO, g.VRRPNotifyFIFO}}
	global := script.RunAs{User: g.ScriptUser, Group: g.ScriptGroup}
	for i, f := range set.conf {
		if f.Path == "" {
			continue
		}
		kind := [2]string{"notify_fifo", "vrrp_notify_fifo"}[i]
		log := a.log.With("fifo", f.Path, "kind", kind)
		owner, _, err := script.Resolve(f.Owner, global, false)
		if err != nil {
			// keepalived: "Invalid user/group for fifo - ignoring".
			log.Warn("notify fifo not opened: its owner", "err", err)
			continue
		}
		c := notifyfifo.Config{Kind: kind, Path: f.Path, Owner: owner}
		if f.Script != "" {
			if cmd, err := fifoScript(f, global, g.EnableScriptSecurity); err != nil {
				log.Warn("notify fifo script not run", "err", err)
			} else {
				c.Script = &cmd
			}
		}
		fifo, err := notifyfifo.Open(c, a.log)
		if err != nil {
			log.Warn("notify fifo not opened", "err", err)
			continue
		}
		set.fifos = append(set.fifos, fifo)
	}
	return set
}

// fifoScript is the FIFO's script line with the FIFO's name added as its last
// argument (vrrp.c vrrp_complete_init's add_script_param), as its run-as user.
func fifoScript(f config.NotifyFIFO, global script.RunAs, secure bool) (script.Command, error) {
	id, _, err := script.Resolve(f.ScriptAs, global, secure)
	if err != nil {
		return script.Command{}, err
	}
	argv, err := script.Split(f.Script)
	if err != nil {
		return script.Command{}, err
	}
	cmd, err := script.ParseArgv(append(argv, f.Path), id)
	if err != nil {
		return script.Command{}, err
	}
	cmd.Secure = secure
	return cmd, nil
}

// close closes every FIFO and stops their scripts.
func (s *fifoSet) close() {
	if s == nil {
		return
	}
	for _, f := range s.fifos {
		f.Close()
	}
}

// write queues line on every notify FIFO; it never waits.
func (s *fifoSet) write(line string) {
	if s == nil {
		return
	}
	for _, f := range s.fifos {
		f.Write(line)
	}
}

// fifoWrite writes line to the running config's notify FIFOs, from any goroutine.
func (a *Agent) fifoWrite(line string) {
	a.fifos.Load().write(line)
}

// refifo applies a reload's notify FIFOs: unchanged ones stay open with their
// scripts running; otherwise the old ones close and the new ones open.
// keepalived closes and reopens them on every reload (vrrp_daemon.c reload_vrrp_thread).
func (a *Agent) refifo(g config.Global) {
	old := a.fifos.Load()
	if old != nil && old.conf == [2]config.NotifyFIFO{g.NotifyFIFO, g.VRRPNotifyFIFO} {
		return
	}
	old.close()
	a.fifos.Store(a.openFIFOs(g))
}

// closeFIFOs closes the notify FIFOs at shutdown, after the last notify line.
func (a *Agent) closeFIFOs() {
	a.fifos.Swap(nil).close()
}

// fifoState tells the states keepalived writes a line for: MASTER, BACKUP, FAULT
// and STOP (never INIT).
func fifoState(s vrrp.State) bool {
	switch s {
	case vrrp.StateMaster, vrrp.StateBackup, vrrp.StateFault, vrrp.StateStopped:
		return true
	}
	return false
}
