package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// seedNode is cenvm71 from the seed: master of VI_1 with nginx checked.
func seedNode() *hactlv1.Node {
	return &hactlv1.Node{
		Name:        "cenvm71",
		Version:     "v0.1.0",
		Maintenance: true,
		Instances: []*hactlv1.Instance{{
			Name:              "VI_1",
			Vrid:              51,
			Interface:         "eth0",
			State:             hactlv1.State_STATE_MASTER,
			BasePriority:      100,
			EffectivePriority: 80,
			AdvertsSent:       1234,
			AdvertsReceived:   7,
			Transitions:       3,
			ReceiveErrors:     []*hactlv1.ReceiveErrorCount{{Cause: "auth", Count: 2}, {Cause: "ttl", Count: 1}},
			Probes: []*hactlv1.Probe{
				{Name: "chk_nginx", Kind: "script", Healthy: false},
				{Name: "nginx", Kind: "process", Healthy: true},
			},
			Vips: []*hactlv1.Vip{
				{Address: "192.168.188.109/24", Bound: true},
				{Address: "192.168.188.109/24", Bound: true}, // written twice in the config
			},
			Timing: &hactlv1.AdvertTiming{LastAdvertAge: durationpb.New(1500 * time.Millisecond)},
		}},
	}
}

func TestCollectorMetrics(t *testing.T) {
	t.Parallel()
	const want = `
# HELP hagent_adverts_received_total VRRP advertisements received and accepted.
# TYPE hagent_adverts_received_total counter
hagent_adverts_received_total{instance="VI_1"} 7
# HELP hagent_adverts_sent_total VRRP advertisements sent.
# TYPE hagent_adverts_sent_total counter
hagent_adverts_sent_total{instance="VI_1"} 1234
# HELP hagent_build_info Always 1; the version label says which hagent runs.
# TYPE hagent_build_info gauge
hagent_build_info{version="v0.1.0"} 1
# HELP hagent_instance_priority Priority of an instance: configured (base) and after tracked weights (effective).
# TYPE hagent_instance_priority gauge
hagent_instance_priority{instance="VI_1",kind="base"} 100
hagent_instance_priority{instance="VI_1",kind="effective"} 80
# HELP hagent_instance_state VRRP state of an instance: 1 for the state it is in, 0 for the others.
# TYPE hagent_instance_state gauge
hagent_instance_state{instance="VI_1",interface="eth0",state="BACKUP",vrid="51"} 0
hagent_instance_state{instance="VI_1",interface="eth0",state="FAULT",vrid="51"} 0
hagent_instance_state{instance="VI_1",interface="eth0",state="INIT",vrid="51"} 0
hagent_instance_state{instance="VI_1",interface="eth0",state="MASTER",vrid="51"} 1
hagent_instance_state{instance="VI_1",interface="eth0",state="STOP",vrid="51"} 0
# HELP hagent_last_advert_age_seconds Time since the last advertisement from the master was seen.
# TYPE hagent_last_advert_age_seconds gauge
hagent_last_advert_age_seconds{instance="VI_1"} 1.5
# HELP hagent_maintenance Whether the node is held out of mastership for maintenance.
# TYPE hagent_maintenance gauge
hagent_maintenance 1
# HELP hagent_probe_healthy Whether a tracked probe is healthy (1) or failing (0).
# TYPE hagent_probe_healthy gauge
hagent_probe_healthy{instance="VI_1",kind="process",probe="nginx"} 1
hagent_probe_healthy{instance="VI_1",kind="script",probe="chk_nginx"} 0
# HELP hagent_receive_errors_total VRRP packets dropped by a receive check, by cause.
# TYPE hagent_receive_errors_total counter
hagent_receive_errors_total{cause="auth",instance="VI_1"} 2
hagent_receive_errors_total{cause="ttl",instance="VI_1"} 1
# HELP hagent_transitions_total State transitions of an instance.
# TYPE hagent_transitions_total counter
hagent_transitions_total{instance="VI_1"} 3
# HELP hagent_vip_bound Whether this node has a virtual address bound (1) or not (0).
# TYPE hagent_vip_bound gauge
hagent_vip_bound{address="192.168.188.109/24",instance="VI_1"} 1
`
	c := NewCollector(seedNode)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorReadsStatusOnEveryScrape(t *testing.T) {
	t.Parallel()
	node := seedNode()
	c := NewCollector(func() *hactlv1.Node { return node })
	const prefix = `
# HELP hagent_transitions_total State transitions of an instance.
# TYPE hagent_transitions_total counter
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(prefix+`hagent_transitions_total{instance="VI_1"} 3
`), "hagent_transitions_total"); err != nil {
		t.Fatal(err)
	}
	node = seedNode()
	node.Instances[0].Transitions = 4
	if err := testutil.CollectAndCompare(c, strings.NewReader(prefix+`hagent_transitions_total{instance="VI_1"} 4
`), "hagent_transitions_total"); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorWithoutStatus(t *testing.T) {
	t.Parallel()
	c := NewCollector(func() *hactlv1.Node { return nil })
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Fatalf("%d metrics without a status, want none", n)
	}
}

func TestCollectorOmitsUnknownAdvertAge(t *testing.T) {
	t.Parallel()
	node := seedNode()
	node.Instances[0].Timing = nil // no advert seen yet
	if n := testutil.CollectAndCount(NewCollector(func() *hactlv1.Node { return node }), "hagent_last_advert_age_seconds"); n != 0 {
		t.Fatalf("%d last-advert-age series before any advert, want none", n)
	}
}

// TestCollectorAPIMetrics: refusals by reason, the certificate's expiry and the Watch
// streams come from the status's ApiInfo.
func TestCollectorAPIMetrics(t *testing.T) {
	t.Parallel()
	node := &hactlv1.Node{Name: "cenvm71", Version: "v0.1.0", Api: &hactlv1.ApiInfo{
		TlsCertNotAfter: timestamppb.New(time.Unix(1900000000, 0)),
		Refusals:        []*hactlv1.ApiRefusalCount{{Reason: "permission", Count: 3}, {Reason: "conn_limit", Count: 9}},
		WatchStreams:    2,
	}}
	const want = `
# HELP hagent_api_refusals_total API calls and connections refused, by reason: permission (not an operator), rate, watch_cap, conn_limit, handshake.
# TYPE hagent_api_refusals_total counter
hagent_api_refusals_total{reason="conn_limit"} 9
hagent_api_refusals_total{reason="permission"} 3
# HELP hagent_api_tls_cert_expiry_timestamp_seconds When the TCP API's TLS certificate expires (Unix time); absent without a TCP listener.
# TYPE hagent_api_tls_cert_expiry_timestamp_seconds gauge
hagent_api_tls_cert_expiry_timestamp_seconds 1.9e+09
# HELP hagent_api_watch_streams Open Watch streams.
# TYPE hagent_api_watch_streams gauge
hagent_api_watch_streams 2
`
	c := NewCollector(func() *hactlv1.Node { return node })
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"hagent_api_refusals_total", "hagent_api_tls_cert_expiry_timestamp_seconds", "hagent_api_watch_streams"); err != nil {
		t.Fatal(err)
	}
}
