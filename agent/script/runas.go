package script

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// DefaultUser is the user keepalived runs scripts as when the configuration
// names none, if it exists (lib/notify.c get_default_script_user).
const DefaultUser = "keepalived_script"

// RunAs is a user and optional group as written in the configuration:
// `user USER [GROUP]` of a vrrp_script, the words after a notify script,
// or global_defs script_user. Empty means "not given".
type RunAs struct {
	User, Group string
}

// Identity is a resolved run-as user.
type Identity struct {
	Name     string // user name as resolved, for messages
	UID, GID uint32
	// Own is set when the command runs as the agent's own user (no setuid).
	Own bool
}

// Root reports whether the command runs with root's user or group, which is
// when keepalived applies its script security checks.
func (id Identity) Root() bool { return id.UID == 0 || id.GID == 0 }

func (id Identity) String() string {
	return fmt.Sprintf("%s (uid %d, gid %d)", id.Name, id.UID, id.GID)
}

// credential is what exec needs; nil for the agent's own user. The
// supplementary groups are cleared, as keepalived's set_script_env does.
func (id Identity) credential() *syscall.Credential {
	if id.Own {
		return nil
	}
	return &syscall.Credential{Uid: id.UID, Gid: id.GID, Groups: []uint32{id.GID}}
}

// Own is the agent's own user.
func Own() Identity {
	name := strconv.Itoa(os.Getuid())
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	return Identity{Name: name, UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Own: true}
}

// Lookup resolves USER [GROUP] like keepalived's set_uid_gid: names or
// numbers; the group defaults to the user's primary group.
func Lookup(r RunAs) (Identity, error) {
	u, err := user.Lookup(r.User)
	if err != nil {
		if u, err = user.LookupId(r.User); err != nil {
			return Identity{}, fmt.Errorf("script user %q does not exist", r.User)
		}
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	id := Identity{Name: u.Username, UID: uint32(uid), GID: uint32(gid)}
	if r.Group != "" {
		g, err := user.LookupGroup(r.Group)
		if err != nil {
			if g, err = user.LookupGroupId(r.Group); err != nil {
				return Identity{}, fmt.Errorf("script group %q does not exist", r.Group)
			}
		}
		gid, _ := strconv.ParseUint(g.Gid, 10, 32)
		id.GID = uint32(gid)
	}
	return id, nil
}

// Resolve decides who runs a command: own (the script's `user`, a notify
// line's user) if given, else global (script_user), else the default user
// keepalived_script if it exists, else the agent's own user. The last case
// is what keepalived does too; fallback is then set so that callers can warn
// that scripts run as root. With security (enable_script_security) keepalived
// refuses the fallback: the error says so.
func Resolve(own, global RunAs, security bool) (id Identity, fallback bool, err error) {
	switch {
	case own.User != "":
		id, err = Lookup(own)
		return id, false, err
	case global.User != "":
		id, err = Lookup(global)
		return id, false, err
	}
	if id, err := Lookup(RunAs{User: DefaultUser}); err == nil {
		return id, false, nil
	}
	if security {
		return Identity{}, false, fmt.Errorf("enable_script_security: no script_user is set and the default user %s does not exist", DefaultUser)
	}
	return Own(), true, nil
}
