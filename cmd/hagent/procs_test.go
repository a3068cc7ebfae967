package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hagent-dev/hagent/agent/config"
)

func procsConf(t *testing.T, n int, advertInt string) *config.Config {
	t.Helper()
	version := 2
	if strings.Contains(advertInt, ".") {
		version = 3 // VRRPv2 carries whole seconds
	}
	var b strings.Builder
	for k := 1; k <= n; k++ {
		fmt.Fprintf(&b, "vrrp_instance VI_%d {\n state BACKUP\n version %d\n interface eth0\n virtual_router_id %d\n priority 90\n advert_int %s\n virtual_ipaddress {\n  192.168.189.%d\n }\n}\n", k, version, k, advertInt, k)
	}
	cfg, err := config.Parse("procs.conf", []byte(b.String()), config.CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// One P only when every instance advertises every second or slower, without real-time
// priority: a sub-second interval anywhere (issue 16) keeps the default.
func TestOneProc(t *testing.T) {
	for _, c := range []struct {
		n    int
		adv  string
		rt   int
		want bool
	}{
		{1, "1", 0, true},
		{255, "2", 0, true},
		{1, "0.01", 0, false},
		{1, "0.99", 0, false},
		{1, "1", 50, false},
		{0, "1", 0, false},
	} {
		if got := oneProc(procsConf(t, c.n, c.adv), c.rt); got != c.want {
			t.Errorf("%d instances, advert_int %s, rt %d: one P %v, want %v", c.n, c.adv, c.rt, got, c.want)
		}
	}
	mixed := procsConf(t, 2, "1")
	mixed.Instances[1].AdvertInt /= 100
	if oneProc(mixed, 0) {
		t.Error("one P with an instance at advert_int 0.01 among others at 1 s")
	}
}
