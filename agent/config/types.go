package config

import (
	"net/netip"
	"time"

	"github.com/hagent-dev/hagent/agent/script"
)

// Config is a keepalived.conf, read and checked.
type Config struct {
	Global     Global
	Scripts    map[string]*Script       // vrrp_script, by name
	Processes  map[string]*TrackProcess // vrrp_track_process, by name
	HTTPChecks map[string]*HTTPCheck    // vrrp_http_check (hagent extension), by name
	TrackFiles map[string]*TrackFile    // track_file (or vrrp_track_file), by name
	Instances  []*Instance              // vrrp_instance, in file order
	SyncGroups []*SyncGroup             // vrrp_sync_group, in file order
	// Warnings are what keepalived would log and continue past: unknown
	// keywords, keywords accepted but ignored by hagent, values adjusted.
	Warnings []*Error
	// Files is every file read (the main one and all includes), in the
	// order first read; a reload watches and hashes these.
	Files []string

	hash string
}

// Global is the global_defs block. Only what matters to a VRRP agent is
// typed; the other keepalived globals are accepted and noted as ignored.
type Global struct {
	RouterID              string
	NotificationEmail     []string
	NotificationEmailFrom string
	SMTPServer            string // host or address, as written
	SMTPPort              int    // default 25
	SMTPConnectTimeout    time.Duration
	SMTPHeloName          string
	SMTPAlert             bool

	EnableScriptSecurity bool
	ScriptUser           string // default user for scripts ("" = keepalived's keepalived_script/root rule)
	ScriptGroup          string

	VRRPVersion          int // default for instances: 2 or 3 (default 2)
	VRRPStrict           bool
	VRRPSkipCheckAdvAddr bool
	// VRRPLowerPrioNoAdvert is the default of lower_prio_no_advert.
	VRRPLowerPrioNoAdvert bool
	// VRRPCheckUnicastSrc is vrrp_check_unicast_src, check_unicast_src for every instance.
	VRRPCheckUnicastSrc bool
	VRRPMcastGroup4     netip.Addr // default 224.0.0.18
	VRRPMcastGroup6     netip.Addr // default ff02::12

	// Defaults for the instances' garp_* settings.
	GARPMasterDelay         time.Duration // default 5s
	GARPMasterRepeat        int           // default 5
	GARPMasterRefresh       time.Duration // default 0: no periodic refresh
	GARPMasterRefreshRepeat int           // default 1
	GARPInterval            time.Duration // delay between gratuitous ARPs, default 0
	GNAInterval             time.Duration // delay between unsolicited NAs, default 0

	MaxAutoPriority int // realtime scheduling priority requested, 0 = not set

	// NotifyFIFO and VRRPNotifyFIFO are notify_fifo and vrrp_notify_fifo with
	// their scripts (keepalived 2.2.7 global_parser.c notify_fifo,
	// notify_fifo_script). Every line goes to both; when they name the same
	// file, the vrrp one is dropped (global_data.c init_global_data).
	NotifyFIFO, VRRPNotifyFIFO NotifyFIFO
	// VRRPNotifyPriorityChanges is vrrp_notify_priority_changes, the default of
	// the instances' notify_priority_changes.
	VRRPNotifyPriorityChanges bool

	Pos Pos // of the global_defs block; zero when there is none
}

// NotifyFIFO is a notify FIFO: FILE [USER [GROUP]] and its optional
// notify_fifo_script SCRIPT [USER [GROUP]]. Path is empty when none is set.
type NotifyFIFO struct {
	Path string
	// Owner is the user and group a FIFO the agent creates is given (keepalived:
	// the words after the file, else the default script user).
	Owner script.RunAs
	Pos   Pos
	// Script runs once, with Path as its last argument, for as long as the
	// FIFO is open.
	Script    string
	ScriptAs  script.RunAs
	ScriptPos Pos
}

// Instance is a vrrp_instance with every default resolved.
type Instance struct {
	Name string
	Pos  Pos

	State     string // "MASTER" or "BACKUP" (derived from priority when not written)
	Interface string
	VRID      int
	Priority  int // 1..255; default 255 for state MASTER, else 100 (as keepalived)
	AdvertInt time.Duration
	Version   int  // 2 or 3: the instance's "version", else global vrrp_version
	IPv6      bool // the instance's address family (from its VIPs, source address or native_ipv6)

	AuthType string // "" (none) or "PASS"; "AH" is refused by the checks
	AuthPass string // as written; see AuthData for the bytes on the wire

	VIPs         []VIP
	ExcludedVIPs []VIP

	TrackScripts    []TrackRef // names of vrrp_script or vrrp_http_check blocks
	TrackInterfaces []TrackRef
	TrackProcesses  []TrackRef
	TrackFiles      []TrackRef // names of track_file blocks

	// UnicastConfigured: a unicast keyword (unicast_src_ip, unicast_peer) was written,
	// with or without peers; UnicastFaultNoPeer is unicast_fault_no_peer. With both and
	// no peer, keepalived keeps the instance in FAULT instead of falling back to
	// multicast (vrrp.c vrrp_complete_instance).
	UnicastConfigured  bool
	UnicastFaultNoPeer bool
	// CheckUnicastSrc is check_unicast_src (or global vrrp_check_unicast_src): a unicast
	// advert from an address that is not a unicast_peer is dropped.
	CheckUnicastSrc bool
	// TrackSrcIP is track_src_ip: the instance is FAULT while its configured source
	// address (unicast_src_ip, mcast_src_ip) is not on its interface.
	TrackSrcIP bool

	NoPreempt    bool
	PreemptDelay time.Duration

	UnicastSrcIP netip.Addr
	UnicastPeers []netip.Addr
	McastSrcIP   netip.Addr
	// McastGroup is where a multicast instance sends its adverts and the only
	// destination it accepts: mcast_dst_ip, else global vrrp_mcast_group4 or
	// vrrp_mcast_group6 (224.0.0.18, ff02::12). Invalid for a unicast instance.
	McastGroup netip.Addr
	// ChecksumGroup is global vrrp_mcast_group4: the destination keepalived's pre-1.3.6
	// unicast checksum (old_unicast_checksum) puts in the pseudo-header.
	ChecksumGroup netip.Addr
	mcastDst      netip.Addr // mcast_dst_ip as written

	GARPMasterDelay         time.Duration
	GARPMasterRepeat        int
	GARPMasterRefresh       time.Duration
	GARPMasterRefreshRepeat int

	// Notification commands, as written (a quoted command keeps its arguments).
	Notify, NotifyMaster, NotifyBackup, NotifyFault, NotifyStop string
	// NotifyLines has, per notify keyword written, the run-as user given after
	// the script and where the line is.
	NotifyLines map[string]NotifyLine

	// NotifyPriorityChanges is notify_priority_changes, resolved: the
	// instance's, else its sync group's, else vrrp_notify_priority_changes
	// (vrrp.c vrrp_complete_instance). Priority changes then go to the notify
	// FIFOs (vrrp_track.c vrrp_set_effective_priority), never to scripts.
	NotifyPriorityChanges    bool
	notifyPriorityChangesSet bool

	Accept    bool // resolved: written value, else keepalived's default
	AcceptSet bool // accept or no_accept was written

	// OldUnicastChecksum is old_unicast_checksum [never]: the VRRPv3 unicast
	// checksum of keepalived before 1.3.6.
	OldUnicastChecksum OldUnicastChecksum
	// LowerPrioNoAdvert is lower_prio_no_advert, else global
	// vrrp_lower_prio_no_advert or strict mode: a MASTER does not answer a
	// lower-priority advert.
	LowerPrioNoAdvert bool

	NativeIPv6       bool
	DontTrackPrimary bool
	SMTPAlert        bool
	StrictMode       bool // strict_mode, else global vrrp_strict
	SkipCheckAdvAddr bool // skip_check_adv_addr, else global vrrp_skip_check_adv_addr
	Debug            int

	SyncGroup string // name of the vrrp_sync_group listing this instance, if any

	stateSet      bool
	prioritySet   bool
	versionSet    bool
	vridWritten   bool // virtual_router_id was written, even if invalid
	authPos       Pos
	advertPos     Pos
	nopreemptPos  Pos
	familyPos     Pos // where the address family was first decided
	acceptPos     Pos
	acceptWritten bool // the value written: accept (true) or no_accept
	lowerPrioSet  bool // lower_prio_no_advert was written
}

// OldUnicastChecksum is keepalived's old_unicast_checksum setting.
type OldUnicastChecksum uint8

const (
	// OldUnicastChecksumAuto (not written): RFC 5798's checksum, switching to the
	// pre-1.3.6 one when a peer's advert verifies only with it.
	OldUnicastChecksumAuto OldUnicastChecksum = iota
	// OldUnicastChecksumOn (old_unicast_checksum): the pre-1.3.6 checksum.
	OldUnicastChecksumOn
	// OldUnicastChecksumNever (old_unicast_checksum never): never switch.
	OldUnicastChecksumNever
)

// AuthData is the 8-byte authentication field of a VRRPv2 advertisement
// with auth_type PASS: the first 8 bytes of auth_pass, zero padded, exactly
// as keepalived builds it (it silently ignores anything past 8 characters).
func (i *Instance) AuthData() [8]byte {
	var b [8]byte
	copy(b[:], i.AuthPass)
	return b
}

// EffectiveAuthPass is the part of auth_pass that is actually compared on
// the wire.
func (i *Instance) EffectiveAuthPass() string {
	if len(i.AuthPass) > 8 {
		return i.AuthPass[:8]
	}
	return i.AuthPass
}

// AddressOwner reports priority 255: the router owns the virtual addresses.
func (i *Instance) AddressOwner() bool { return i.Priority == 255 }

// Unicast reports whether adverts go to unicast peers instead of multicast.
func (i *Instance) Unicast() bool { return len(i.UnicastPeers) > 0 }

// VIP is one line of virtual_ipaddress or virtual_ipaddress_excluded.
type VIP struct {
	Prefix    netip.Prefix // address as written, mask default /32 or /128
	Dev       string       // default: the instance's interface
	Label     string
	Scope     string
	Broadcast netip.Addr
	Pos       Pos
}

// TrackRef is one line of track_script, track_interface or track_process.
type TrackRef struct {
	Name      string
	Weight    int
	WeightSet bool // a weight on this line overrides the tracked object's
	Reverse   bool
	Pos       Pos
}

// Restart is hagent's extension to script, process and HTTP checks: when the
// check fails, run Command up to Attempts times, waiting Backoff after each
// attempt, before the failure counts against the instance. It turns the
// seed's "restart nginx once, then give up" shell logic into configuration.
type Restart struct {
	Command  string // as written; empty means no restart
	Attempts int    // default 1 when Command is set
	Backoff  time.Duration
}

// Enabled reports whether a restart command is configured.
func (r Restart) Enabled() bool { return r.Command != "" }

// NotifyLine is what a notify* line says besides its command:
// `notify_master SCRIPT [USER [GROUP]]`.
type NotifyLine struct {
	As  script.RunAs // empty: global script_user, else keepalived's default
	Pos Pos
}

// Script is a vrrp_script block.
type Script struct {
	Name     string
	Script   string // command line as written; see SplitCommand
	Interval time.Duration
	Timeout  time.Duration
	Weight   int
	Reverse  bool
	Fall     int
	Rise     int
	User     string
	Group    string
	InitFail bool
	Restart  Restart
	Pos      Pos
	// Disabled says why hagent will not run this script (keepalived's
	// "Disabling track script ... due to insecure"): it is then tracked by
	// no instance. Set by the script security checks of Load.
	Disabled string

	scriptPos  Pos
	restartPos Pos
}

// TrackProcess is a vrrp_track_process block.
type TrackProcess struct {
	Name           string
	Process        string   // process name (or path with full_command)
	Params         []string // further words after the name: the arguments to match
	ParamMatch     string   // "exact" (default), "initial" or "partial"
	Quorum         int      // default 1
	QuorumMax      int      // 0 = no maximum
	Weight         int
	Reverse        bool
	Delay          time.Duration
	TerminateDelay time.Duration
	ForkDelay      time.Duration
	FullCommand    bool
	// SameNetNS (hagent extension `same_netns`) counts only processes in the agent's own
	// network namespace.
	SameNetNS bool
	Restart   Restart
	Pos       Pos

	restartPos Pos
}

// HTTPCheck is a vrrp_http_check block, hagent's in-process HTTP probe. It is
// tracked from track_script like a vrrp_script.
type HTTPCheck struct {
	Name         string
	URL          string
	Status       int // expected status, default 200
	BodyContains string
	Interval     time.Duration
	Timeout      time.Duration
	Fall         int
	Rise         int
	Weight       int
	Reverse      bool
	Restart      Restart
	Pos          Pos

	restartPos Pos
}

// SyncGroup is a vrrp_sync_group block: its members move together (see
// agent/vrrp SyncGroup). Its track_* lines are added to every member's when
// the config is resolved; they are kept here as written.
type SyncGroup struct {
	Name      string
	Instances []string
	// Members are the instances that belong to the group: Instances less the
	// unknown ones and those already in another group (as keepalived).
	Members []string
	// TrackScripts, TrackInterfaces, TrackProcesses and TrackFiles apply to every member.
	TrackScripts, TrackInterfaces, TrackProcesses, TrackFiles []TrackRef
	// TrackingWeight is sync_group_tracking_weight (or global_tracking):
	// without it, keepalived ignores the members' weighted tracks.
	TrackingWeight bool

	Notify, NotifyMaster, NotifyBackup, NotifyFault, NotifyStop string
	NotifyLines                                                 map[string]NotifyLine
	SMTPAlert                                                   bool
	// NotifyPriorityChanges is notify_priority_changes, for members without
	// their own; NotifyPriorityChangesSet says it was written.
	NotifyPriorityChanges, NotifyPriorityChangesSet bool
	Pos                                             Pos
}

// TrackFile is a track_file block (vrrp_track_file is keepalived's deprecated
// name): a file holding an integer that an operator or a program writes. As
// keepalived 2.2.7 (trackers/track_file.c), a tracking instance adds value ×
// weight to its priority (reverse negates it); a result of -254 or less is a
// FAULT; with weight 0 any non-zero value is a FAULT (reverse: zero is).
type TrackFile struct {
	Name    string
	Path    string
	Weight  int // default 1
	Reverse bool
	// Init is init_file [VALUE] [overwrite]: hagent writes InitValue to the file
	// at start when it does not exist, or always with Overwrite (except on reload).
	Init      bool
	InitValue int
	Overwrite bool
	Pos       Pos

	weightSet bool
}
