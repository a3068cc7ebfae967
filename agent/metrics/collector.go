package metrics

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

var (
	instanceStateDesc = prometheus.NewDesc("hagent_instance_state",
		"VRRP state of an instance: 1 for the state it is in, 0 for the others.",
		[]string{"instance", "vrid", "interface", "state"}, nil)
	instancePriorityDesc = prometheus.NewDesc("hagent_instance_priority",
		"Priority of an instance: configured (base) and after tracked weights (effective).",
		[]string{"instance", "kind"}, nil)
	advertsSentDesc = prometheus.NewDesc("hagent_adverts_sent_total",
		"VRRP advertisements sent.", []string{"instance"}, nil)
	advertsReceivedDesc = prometheus.NewDesc("hagent_adverts_received_total",
		"VRRP advertisements received and accepted.", []string{"instance"}, nil)
	receiveErrorsDesc = prometheus.NewDesc("hagent_receive_errors_total",
		"VRRP packets dropped by a receive check, by cause.", []string{"instance", "cause"}, nil)
	transitionsDesc = prometheus.NewDesc("hagent_transitions_total",
		"State transitions of an instance.", []string{"instance"}, nil)
	probeHealthyDesc = prometheus.NewDesc("hagent_probe_healthy",
		"Whether a tracked probe is healthy (1) or failing (0).", []string{"instance", "probe", "kind"}, nil)
	vipBoundDesc = prometheus.NewDesc("hagent_vip_bound",
		"Whether this node has a virtual address bound (1) or not (0).", []string{"instance", "address"}, nil)
	lastAdvertAgeDesc = prometheus.NewDesc("hagent_last_advert_age_seconds",
		"Time since the last advertisement from the master was seen.", []string{"instance"}, nil)
	maintenanceDesc = prometheus.NewDesc("hagent_maintenance",
		"Whether the node is held out of mastership for maintenance.", nil, nil)
	buildInfoDesc = prometheus.NewDesc("hagent_build_info",
		"Always 1; the version label says which hagent runs.", []string{"version"}, nil)

	apiRefusalsDesc = prometheus.NewDesc("hagent_api_refusals_total",
		"API calls and connections refused, by reason: permission (not an operator), rate, watch_cap, conn_limit, handshake.",
		[]string{"reason"}, nil)
	apiCertExpiryDesc = prometheus.NewDesc("hagent_api_tls_cert_expiry_timestamp_seconds",
		"When the TCP API's TLS certificate expires (Unix time); absent without a TCP listener.", nil, nil)
	apiWatchStreamsDesc = prometheus.NewDesc("hagent_api_watch_streams",
		"Open Watch streams.", nil, nil)

	allDescs = []*prometheus.Desc{
		instanceStateDesc, instancePriorityDesc, advertsSentDesc, advertsReceivedDesc,
		receiveErrorsDesc, transitionsDesc, probeHealthyDesc, vipBoundDesc,
		lastAdvertAgeDesc, maintenanceDesc, buildInfoDesc,
		apiRefusalsDesc, apiCertExpiryDesc, apiWatchStreamsDesc,
	}

	// states are the values of hagent_instance_state's state label, as in
	// `hactl status --json`.
	states = []hactlv1.State{
		hactlv1.State_STATE_INIT, hactlv1.State_STATE_BACKUP, hactlv1.State_STATE_MASTER,
		hactlv1.State_STATE_FAULT, hactlv1.State_STATE_STOP,
	}
)

// Collector turns a status snapshot into metrics on every scrape.
type Collector struct {
	status func() *hactlv1.Node
}

// NewCollector returns a collector reading status on each scrape. status may return
// nil (no state yet); the scrape then has no hagent metrics.
func NewCollector(status func() *hactlv1.Node) *Collector {
	return &Collector{status: status}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	node := c.status()
	if node == nil {
		return
	}
	e := &emitter{ch: ch, seen: make(map[seriesKey]bool)}
	e.emit(buildInfoDesc, prometheus.GaugeValue, 1, node.GetVersion())
	e.emit(maintenanceDesc, prometheus.GaugeValue, boolValue(node.GetMaintenance()))
	for _, inst := range node.GetInstances() {
		collectInstance(e, inst)
	}
	if api := node.GetApi(); api != nil {
		for _, r := range api.GetRefusals() {
			e.emit(apiRefusalsDesc, prometheus.CounterValue, float64(r.GetCount()), r.GetReason())
		}
		if t := api.GetTlsCertNotAfter(); t != nil {
			e.emit(apiCertExpiryDesc, prometheus.GaugeValue, float64(t.GetSeconds()))
		}
		e.emit(apiWatchStreamsDesc, prometheus.GaugeValue, float64(api.GetWatchStreams()))
	}
}

func collectInstance(e *emitter, inst *hactlv1.Instance) {
	name := inst.GetName()
	vrid := strconv.FormatUint(uint64(inst.GetVrid()), 10)
	for _, s := range states {
		e.emit(instanceStateDesc, prometheus.GaugeValue, boolValue(inst.GetState() == s),
			name, vrid, inst.GetInterface(), stateLabel(s))
	}
	e.emit(instancePriorityDesc, prometheus.GaugeValue, float64(inst.GetBasePriority()), name, "base")
	e.emit(instancePriorityDesc, prometheus.GaugeValue, float64(inst.GetEffectivePriority()), name, "effective")
	e.emit(advertsSentDesc, prometheus.CounterValue, float64(inst.GetAdvertsSent()), name)
	e.emit(advertsReceivedDesc, prometheus.CounterValue, float64(inst.GetAdvertsReceived()), name)
	e.emit(transitionsDesc, prometheus.CounterValue, float64(inst.GetTransitions()), name)
	for _, re := range inst.GetReceiveErrors() {
		e.emit(receiveErrorsDesc, prometheus.CounterValue, float64(re.GetCount()), name, re.GetCause())
	}
	for _, p := range inst.GetProbes() {
		e.emit(probeHealthyDesc, prometheus.GaugeValue, boolValue(p.GetHealthy()), name, p.GetName(), p.GetKind())
	}
	for _, v := range inst.GetVips() {
		e.emit(vipBoundDesc, prometheus.GaugeValue, boolValue(v.GetBound()), name, v.GetAddress())
	}
	if age := inst.GetTiming().GetLastAdvertAge(); age != nil {
		e.emit(lastAdvertAgeDesc, prometheus.GaugeValue, age.AsDuration().Seconds(), name)
	}
}

// emitter sends metrics, dropping a series already sent in this scrape: the registry
// fails the whole scrape on a duplicate (two VIPs written the same way, say), and one
// odd config line should not blind the monitoring.
type emitter struct {
	ch   chan<- prometheus.Metric
	seen map[seriesKey]bool
}

type seriesKey struct {
	desc   *prometheus.Desc
	labels string
}

func (e *emitter) emit(desc *prometheus.Desc, kind prometheus.ValueType, v float64, labels ...string) {
	key := seriesKey{desc, strings.Join(labels, "\xff")}
	if e.seen[key] {
		return
	}
	e.seen[key] = true
	m, err := prometheus.NewConstMetric(desc, kind, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	e.ch <- m
}

func stateLabel(s hactlv1.State) string {
	return strings.TrimPrefix(s.String(), "STATE_")
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
