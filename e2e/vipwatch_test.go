package e2e

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/lab"
)

// A VIP removed by hand from the master is put back at once (the agent follows the
// kernel's address events) and the event is logged; the backup never takes it.
func TestVIPRemovedByHandIsPutBack(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{})
	l.WaitFor(func() bool { return slices.Equal(l.VIPHolders(), []string{"cenvm71"}) }, 15*time.Second,
		"the VIP on cenvm71 only")
	out, err := exec.Command("ip", "-n", l.NetNS("cenvm71"), "addr", "del", lab.VIP+"/32", "dev", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr del: %v: %s", err, out)
	}
	l.WaitFor(func() bool { return slices.Equal(l.VIPHolders(), []string{"cenvm71"}) }, 2*time.Second,
		"the VIP put back on cenvm71")
	l.WaitFor(func() bool { return strings.Contains(l.AgentLog("cenvm71"), "putting it back") }, 2*time.Second,
		"cenvm71's log to say it put the VIP back")
	if body, err := l.Curl(); err != nil || body != "cenvm71" {
		t.Fatalf("client got %q, %v; want cenvm71", body, err)
	}
}
