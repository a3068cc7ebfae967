package config

// ignoredTopLevel are keepalived's other top-level blocks: valid in a
// keepalived.conf, outside what hagent (the VRRP half) does.
var ignoredTopLevel = map[string]string{
	"virtual_server":        "LVS is not part of hagent",
	"virtual_server_group":  "LVS is not part of hagent",
	"static_ipaddress":      "static addresses are not managed by hagent",
	"static_routes":         "static routes are not managed by hagent",
	"static_rules":          "static rules are not managed by hagent",
	"garp_group":            "gratuitous ARP groups are not supported",
	"bfd_instance":          "hagent has no BFD (track_bfd is refused)",
	"linkbeat_interfaces":   "linkbeat polling is not needed: hagent uses netlink",
	"net_namespace":         "run hagent inside the namespace instead",
	"net_namespace_ipvs":    "LVS is not part of hagent",
	"namespace_with_ipsets": "ipsets are not used by hagent",
	"instance":              "run one hagent per configuration instead",
	"use_pid_dir":           "hagent does not write pid files",
}

// topLevel reads the statements outside any block.
func (p *parser) topLevel(stmts []*stmt) {
	for _, s := range stmts {
		switch s.key.text {
		case "global_defs":
			if p.requireBlock(s) {
				p.global(s)
			}
		case "vrrp_script":
			if p.requireBlock(s) {
				p.script(s)
			}
		case "vrrp_track_process":
			if p.requireBlock(s) {
				p.trackProcess(s)
			}
		case "vrrp_http_check":
			if p.requireBlock(s) {
				p.httpCheck(s)
			}
		case "vrrp_instance":
			if p.requireBlock(s) {
				p.instance(s)
			}
		case "track_file", "vrrp_track_file":
			if p.requireBlock(s) {
				p.trackFile(s)
			}
		case "vrrp_sync_group":
			if p.requireBlock(s) {
				p.syncGroup(s)
			}
		default:
			if why, ok := ignoredTopLevel[s.key.text]; ok {
				p.diags.warnf(s.pos(), "%s is accepted but ignored: %s", s.key.text, why)
				continue
			}
			p.diags.errorf(s.pos(), "unknown top-level keyword %q", s.key.text)
		}
	}
}

func (p *parser) requireBlock(s *stmt) bool {
	if !s.hasBlock {
		p.diags.errorf(s.pos(), "%s needs a { } block", s.name())
		return false
	}
	return true
}
