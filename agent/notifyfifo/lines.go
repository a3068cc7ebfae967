package notifyfifo

import "fmt"

// The lines below are keepalived 2.2.7's (vrrp_notify.c notify_fifo):
// TYPE "NAME" STATE PRIORITY, the notify script's last four arguments with the
// name quoted.

// InstanceLine is an instance's state change: state is MASTER, BACKUP, FAULT
// or STOP, priority its effective priority (notify_instance_fifo, written by
// send_instance_notifies).
func InstanceLine(name, state string, priority uint8) string {
	return fmt.Sprintf("INSTANCE \"%s\" %s %d\n", name, state, priority)
}

// GroupLine is a sync group's state change; a group's priority is always 0
// (notify_group_fifo, written by send_group_notifies).
func GroupLine(name, state string) string {
	return fmt.Sprintf("GROUP \"%s\" %s 0\n", name, state)
}

// PriorityLine is a change of an instance's effective priority under
// notify_priority_changes: MASTER_PRIORITY for a master, BACKUP_PRIORITY in
// any other state (send_instance_priority_notifies, called by
// vrrp_track.c vrrp_set_effective_priority).
func PriorityLine(name string, master bool, priority uint8) string {
	ev := "BACKUP_PRIORITY"
	if master {
		ev = "MASTER_PRIORITY"
	}
	return InstanceLine(name, ev, priority)
}

// RxLowerPriLine is a master's receipt of an advert of lower priority
// (send_event_notify with VRRP_EVENT_MASTER_RX_LOWER_PRI, vrrp.c
// vrrp_state_master_rx), written whatever notify_priority_changes says.
func RxLowerPriLine(name string, priority uint8) string {
	return InstanceLine(name, "MASTER_RX_LOWER_PRI", priority)
}
