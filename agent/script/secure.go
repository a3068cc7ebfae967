package script

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Insecure reports why running path as id would let a non-root user run
// code as root, or "" when it would not. It follows keepalived 2.2.7's
// check_script_secure and check_security (lib/notify.c): only a command run
// with root's user or group (or a set-uid/set-gid root file) is checked;
// then the file and every directory on its path, as written and with
// symbolic links resolved, must be owned by root and not writable by a
// non-root group or by everyone (a directory with the sticky bit, like /tmp,
// may be world-writable).
func Insecure(path string, id Identity) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "" // missing files are reported elsewhere
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	setRoot := (st.Uid == 0 && fi.Mode()&os.ModeSetuid != 0 && fi.Mode()&0o100 != 0) ||
		(st.Gid == 0 && fi.Mode()&os.ModeSetgid != 0 && fi.Mode()&0o010 != 0)
	if !id.Root() && !setRoot {
		return ""
	}
	if why := checkPath(path); why != "" {
		return why
	}
	if real, err := filepath.EvalSymlinks(path); err == nil && real != path {
		return checkPath(real)
	}
	return ""
}

// checkPath is check_security: every component from "/" down, not
// following the last symbolic link.
func checkPath(path string) string {
	path = filepath.Clean(path)
	if !filepath.IsAbs(path) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return ""
		}
		path = abs
	}
	parts := strings.Split(path, "/")
	for i := 1; i <= len(parts); i++ {
		p := strings.Join(parts[:i], "/")
		if p == "" {
			p = "/"
		}
		if i > 1 && parts[i-1] == "" {
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return ""
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return ""
		}
		last := i == len(parts)
		mode := fi.Mode()
		switch {
		case !last && !mode.IsDir():
			return fmt.Sprintf("%s on its path is not a directory", p)
		case last && !mode.IsRegular() && mode&os.ModeSymlink == 0:
			return fmt.Sprintf("%s is not a regular file", p)
		case st.Uid != 0:
			return fmt.Sprintf("%s is owned by uid %d, not root", p, st.Uid)
		}
		checked := (mode.IsDir() && mode&os.ModeSticky == 0) || mode.IsRegular()
		if checked && ((st.Gid != 0 && mode.Perm()&0o020 != 0) || mode.Perm()&0o002 != 0) {
			return fmt.Sprintf("%s is writable by non-root users (mode %04o)", p, mode.Perm())
		}
	}
	return ""
}
