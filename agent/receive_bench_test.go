package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/netio"
	"github.com/hagent-dev/hagent/agent/vrrp"
)

// BenchmarkBackupReceive255 is the socket reader's work for one advert at a backup of
// 255 instances (lab/bench_scale_test.go's profile): hand it to its instance and step it
// inline. Run with -benchmem.
func BenchmarkBackupReceive255(b *testing.B) {
	const n = 255
	var conf strings.Builder
	for k := 1; k <= n; k++ {
		fmt.Fprintf(&conf, "vrrp_instance VI_%d {\n state BACKUP\n interface eth0\n mcast_src_ip 192.168.188.73\n virtual_router_id %d\n priority 90\n advert_int 1\n virtual_ipaddress {\n  192.168.189.%d\n }\n}\n", k, k, k)
	}
	cfg, err := config.Parse("bench.conf", []byte(conf.String()), config.CheckFiles(false))
	if err != nil {
		b.Fatal(err)
	}
	seg := newSegment()
	a, err := New(cfg, WithName("cenvm72"), WithBinder(newBinder()), WithAnnouncer(&announcer{n: map[netip.Addr]int{}}),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	a.openConn = func(string, netio.Family, netip.Addr) (packetConn, error) { return seg, nil }
	a.readLink = upLink
	a.watchNet = false
	ctx, cancel := context.WithCancel(context.Background())
	done, ready := make(chan error, 1), make(chan struct{})
	go func() { done <- a.Run(ctx, func() { close(ready) }) }()
	<-ready
	defer func() { cancel(); <-done }()

	ins := make([]*instance, n)
	pkts := make([][]byte, n)
	for k := range n {
		ins[k] = a.instance(fmt.Sprintf("VI_%d", k+1))
		adv := vrrp.Advert{Version: 2, VRID: uint8(k + 1), Priority: 100, AdverInt: 1,
			Addrs: []netip.Addr{netip.MustParseAddr(fmt.Sprintf("192.168.189.%d", k+1))}}
		pkts[k], err = adv.Marshal(peer, group, vrrp.ChecksumPseudoHeader)
		if err != nil {
			b.Fatal(err)
		}
	}
	so := ins[0].sock
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		so.deliver(netio.Packet{Src: peer, Dst: group, TTL: 255, Data: pkts[k], At: time.Now()})
		k = (k + 1) % n
	}
	b.StopTimer()
	for _, in := range ins[:3] {
		if st := loopStatusTB(b, in); st.State != vrrp.StateBackup || st.AdvertsReceived == 0 {
			b.Fatalf("%s: %v, %d adverts received", in.name, st.State, st.AdvertsReceived)
		}
	}
}

func loopStatusTB(tb testing.TB, in *instance) vrrp.Status {
	var st vrrp.Status
	if err := in.call(context.Background(), func(now time.Time) { st = in.fsm.Status(now) }); err != nil {
		tb.Fatal(err)
	}
	return st
}
