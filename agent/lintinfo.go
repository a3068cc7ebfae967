package agent

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"sort"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/vrrp"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// What the agent reports so that hactl lint can compare the nodes of a cluster: the
// configuration that must agree (InstanceConfig) and the routers heard on the wire whose
// adverts for our VRID were dropped (ForeignSender).

// fingerprintKey keys the auth_pass fingerprint. It is public (it is in this source), so
// the fingerprint is not a secret-keyed MAC: it only makes equal passwords of one VRID
// compare equal across nodes without putting the password in the API. Someone who reads
// the status can still test guesses offline (an 8-byte PASS password is weak against a
// dictionary). That adds no exposure: VRRPv2 PASS authentication sends the password in
// cleartext in every advert on the segment, and only the API's own clients see the status.
var fingerprintKey = []byte("hagent auth_pass fingerprint v1")

// authFingerprint is HMAC-SHA256(fingerprintKey, VRID || auth type || the 8 password bytes
// on the wire), the first 8 bytes in hex. The wire bytes, not the configured string:
// keepalived truncates auth_pass to 8 characters, so two passwords that differ after the
// eighth still interoperate and must compare equal. Empty without authentication.
func authFingerprint(ic *config.Instance) string {
	if ic.AuthType == "" {
		return ""
	}
	data := ic.AuthData()
	m := hmac.New(sha256.New, fingerprintKey)
	m.Write([]byte{byte(ic.VRID)})
	m.Write([]byte(ic.AuthType))
	m.Write(data[:])
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// configProto is the instance's configuration as hactl lint compares it.
func configProto(ic *config.Instance) *hactlv1.InstanceConfig {
	c := &hactlv1.InstanceConfig{
		State:           ic.State,
		AuthType:        ic.AuthType,
		AuthFingerprint: authFingerprint(ic),
		Nopreempt:       ic.NoPreempt,
		PreemptDelay:    durationpb.New(ic.PreemptDelay),
		Unicast:         ic.Unicast(),
	}
	for _, v := range ic.ExcludedVIPs {
		c.ExcludedVips = append(c.ExcludedVips, vipOf(ic, v).Prefix.String())
	}
	for _, refs := range [][]config.TrackRef{ic.TrackScripts, ic.TrackProcesses, ic.TrackInterfaces} {
		for _, r := range refs {
			c.Tracked = append(c.Tracked, r.Name)
		}
	}
	sort.Strings(c.Tracked)
	return c
}

// Foreign senders are kept per instance, bounded, and forgotten after a while: a router
// that stopped sending is no longer a finding.
const (
	foreignSendersKept = 8
	foreignSenderTTL   = 10 * time.Minute
)

// foreignSender is the loop's record of one source of dropped adverts.
type foreignSender struct {
	cause, reason string
	count         uint64
	last          time.Time
	adv           vrrp.Advert
}

// recordForeign remembers a dropped advert's sender (runs in the instance's loop) and
// returns its record as sent to watchers.
func (in *instance) recordForeign(now time.Time, d vrrp.Dropped) *hactlv1.ForeignSender {
	if in.foreign == nil {
		in.foreign = map[netip.Addr]*foreignSender{}
	}
	f := in.foreign[d.Src]
	if f == nil {
		if len(in.foreign) >= foreignSendersKept {
			in.forgetOldestForeign()
		}
		f = &foreignSender{}
		in.foreign[d.Src] = f
	}
	f.cause, f.reason, f.last = d.Cause.String(), d.Reason, now
	f.count++
	if d.Advert.Version != 0 {
		f.adv = d.Advert
	}
	return foreignProto(d.Src, f)
}

func (in *instance) forgetOldestForeign() {
	var oldest netip.Addr
	for a, f := range in.foreign {
		if !oldest.IsValid() || f.last.Before(in.foreign[oldest].last) {
			oldest = a
		}
	}
	delete(in.foreign, oldest)
}

// foreignProtos lists the senders heard within foreignSenderTTL, newest first.
func (in *instance) foreignProtos(now time.Time) []*hactlv1.ForeignSender {
	var out []*hactlv1.ForeignSender
	for a, f := range in.foreign {
		if now.Sub(f.last) > foreignSenderTTL {
			delete(in.foreign, a)
			continue
		}
		out = append(out, foreignProto(a, f))
	}
	sort.Slice(out, func(i, j int) bool {
		ti, tj := out[i].GetLastSeen().AsTime(), out[j].GetLastSeen().AsTime()
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return out[i].GetAddress() < out[j].GetAddress()
	})
	return out
}

func foreignProto(src netip.Addr, f *foreignSender) *hactlv1.ForeignSender {
	p := &hactlv1.ForeignSender{
		Address: addrString(src), Cause: f.cause, Reason: f.reason, Count: f.count,
		LastSeen: timestamppb.New(f.last),
	}
	if a := f.adv; a.Version != 0 {
		p.Version, p.Priority = uint32(a.Version), uint32(a.Priority)
		unit := time.Second
		if a.Version == 3 {
			unit = 10 * time.Millisecond
		}
		p.AdvertInt = durationpb.New(time.Duration(a.AdverInt) * unit)
		for _, x := range a.Addrs {
			p.Addresses = append(p.Addresses, x.String())
		}
	}
	return p
}
