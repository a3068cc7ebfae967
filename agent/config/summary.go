package config

import (
	"fmt"
	"strings"
)

// Summary describes each instance on one line, for `hagent -t`:
//
//	VI_1: vrid 51 on eno16777736, v2, priority 100, state MASTER, advert 1s, auth PASS, 1 VIP (192.168.188.109/32), tracks chk_nginx
func (c *Config) Summary() []string {
	lines := make([]string, 0, len(c.Instances))
	for _, in := range c.Instances {
		lines = append(lines, in.summary())
	}
	return lines
}

func (in *Instance) summary() string {
	parts := []string{
		fmt.Sprintf("vrid %d on %s", in.VRID, in.Interface),
		fmt.Sprintf("v%d", in.Version),
		fmt.Sprintf("priority %d", in.Priority),
		"state " + in.State,
		fmt.Sprintf("advert %v", in.AdvertInt),
	}
	if in.AuthType != "" {
		parts = append(parts, "auth "+in.AuthType)
	} else {
		parts = append(parts, "no auth")
	}
	vips := make([]string, len(in.VIPs))
	for i, v := range in.VIPs {
		vips[i] = v.Prefix.String()
		if v.Dev != in.Interface {
			vips[i] += " dev " + v.Dev
		}
	}
	noun := "VIPs"
	if len(vips) == 1 {
		noun = "VIP"
	}
	parts = append(parts, fmt.Sprintf("%d %s (%s)", len(vips), noun, strings.Join(vips, ", ")))
	if in.Unicast() {
		peers := make([]string, len(in.UnicastPeers))
		for i, a := range in.UnicastPeers {
			peers[i] = a.String()
		}
		parts = append(parts, "unicast to "+strings.Join(peers, ", "))
	}
	if in.NoPreempt {
		parts = append(parts, "nopreempt")
	} else if in.PreemptDelay > 0 {
		parts = append(parts, fmt.Sprintf("preempt_delay %v", in.PreemptDelay))
	}
	var tracked []string
	for _, refs := range [][]TrackRef{in.TrackScripts, in.TrackProcesses, in.TrackInterfaces, in.TrackFiles} {
		for _, r := range refs {
			tracked = append(tracked, r.Name)
		}
	}
	if len(tracked) > 0 {
		parts = append(parts, "tracks "+strings.Join(tracked, ", "))
	}
	return in.Name + ": " + strings.Join(parts, ", ")
}

// Hash is the hex SHA-256 over the names and bytes of every file read, in
// reading order: it changes whenever anything a reload would see changes.
func (c *Config) Hash() string { return c.hash }
