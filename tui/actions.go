package tui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

	"github.com/hagent-dev/hagent/cluster"
)

// askFailover opens the forced-failover dialog for the selected instance. The target is
// the other node of a two-node cluster, else the selected node unless it is the master
// (then the backups' election decides).
func (m Model) askFailover() Model {
	if m.opts.Failover == nil {
		m.setStatus("forced failover is not available", true)
		return m
	}
	row, cell, ok := m.dash.Selected()
	if !ok {
		m.setStatus("no instance selected", true)
		return m
	}
	target := ""
	if len(m.state.Nodes) != 2 && cell.Inst.GetState() != hactlv1.State_STATE_MASTER {
		target = cell.Node.Name
	}
	plan, err := cluster.PlanFailover(m.state.Statuses(), row.Name, target)
	if err != nil {
		m.setStatus("failover "+row.Name+": "+cluster.Printable(err.Error()), true)
		return m
	}
	how := fmt.Sprintf("%s takes over, then %s steps down (make before break).", plan.To, plan.From)
	if plan.Mode == hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH {
		how = fmt.Sprintf("%s relinquishes (advertises priority 0); the backups elect.", plan.From)
	}
	body := plan.String() + "\n\n" + how + "\nThe override stays until cleared with c."
	m.dialog = m.dialog.Confirm("Forced failover", body, failoverConfirmedMsg{instance: row.Name, target: plan.To})
	return m
}

// clear removes the overrides of the selected instance; it needs no confirmation since
// it only returns the instance to normal VRRP.
func (m Model) clear() (Model, tea.Cmd) {
	row, _, ok := m.dash.Selected()
	if !ok || m.opts.Clear == nil {
		m.setStatus("clear is not available", true)
		return m, nil
	}
	m.setStatus("clearing overrides of "+row.Name+"…", false)
	return m, clearCmd(m.ctx, m.opts.Clear, row.Name)
}

// askMaintenance confirms turning maintenance of the selected node on or off.
func (m Model) askMaintenance() Model {
	_, cell, ok := m.dash.Selected()
	if !ok || m.opts.Maintenance == nil {
		m.setStatus("maintenance is not available", true)
		return m
	}
	on := !cell.Node.Node.GetMaintenance()
	body := fmt.Sprintf("Put %s into maintenance?\nIt gives up mastership of every instance until taken out.", cell.Node.Name)
	if !on {
		body = fmt.Sprintf("Take %s out of maintenance?\nIt takes part in elections again.", cell.Node.Name)
	}
	m.dialog = m.dialog.Confirm("Maintenance", body, maintenanceConfirmedMsg{node: cell.Node.Name, on: on})
	return m
}

// askDrill confirms the failover test: it moves the VIP for real.
func (m Model) askDrill() Model {
	row, _, ok := m.dash.Selected()
	if !ok || m.opts.RunDrill == nil {
		m.setStatus("failover test is not available", true)
		return m
	}
	body := fmt.Sprintf("Run the failover test on %s?\nThe master is failed over and back while a client measures what it sees.", row.Name)
	m.dialog = m.dialog.Confirm("Failover test", body, drillConfirmedMsg{instance: row.Name})
	return m
}

func (m Model) startDrill(instance string) (Model, tea.Cmd) {
	var spin tea.Cmd
	m.dialog, spin = m.dialog.Progress("Failover test · "+instance, "running…")
	m.setStatus("failover test "+instance+" running…", false)
	return m, tea.Batch(spin, drillCmd(m.ctx, m.opts.RunDrill, instance))
}

func (m Model) drillDone(msg drillDoneMsg) Model {
	title := "Failover test · " + msg.instance
	body := strings.TrimRight(msg.report, "\n") // the report ends its last line; the box adds its own spacing
	if msg.err != nil {
		title += " · FAILED"
		if body != "" {
			body += "\n\n"
		}
		body += "error: " + cluster.Printable(msg.err.Error())
	}
	m.dialog = m.dialog.Report(title, body)
	m.setResult("failover test "+msg.instance, "failover test "+msg.instance+" done", msg.err)
	return m
}
