package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
)

// Option changes how a configuration is loaded.
type Option func(*options)

type options struct {
	src        source
	checkFiles bool
	fileCheck  func(path string) error
	ifaceCheck func(name string) error
	configID   string
}

func defaultOptions() *options {
	return &options{src: osSource{}, checkFiles: true, fileCheck: ExecutableExists, configID: DefaultConfigID()}
}

// ConfigID sets the id that "@ID" conditional lines are compared with, as
// keepalived's -i / --config-id option does. An empty id keeps the default.
func ConfigID(id string) Option {
	return func(o *options) {
		if id != "" {
			o.configID = id
		}
	}
}

// DefaultConfigID is keepalived's default config id: the node name as
// uname returns it, up to the first dot (keepalived/core/main.c).
func DefaultConfigID() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	id, _, _ := strings.Cut(h, ".")
	return id
}

// CheckFiles turns the existence check of script files on or off. It is on
// by default: `hagent -t` should catch a script path that does not exist.
// Tests, and tools reading a configuration meant for another host, turn it
// off.
func CheckFiles(on bool) Option {
	return func(o *options) { o.checkFiles = on }
}

// WithFileCheck replaces the check applied to the program of every
// vrrp_script and restart_command (the first word of the command line). It
// returns nil when the program is usable. Setting it also turns CheckFiles on.
func WithFileCheck(check func(path string) error) Option {
	return func(o *options) {
		o.fileCheck = check
		o.checkFiles = true
	}
}

// WithInterfaceCheck makes track_interface and the instances' interface
// names checked by the given function (for example against net.InterfaceByName).
// By default interface names are not checked: the configuration may be read
// on another host, and keepalived itself only warns.
func WithInterfaceCheck(check func(name string) error) Option {
	return func(o *options) { o.ifaceCheck = check }
}

// withSource reads files from somewhere other than the file system.
func withSource(src source) Option {
	return func(o *options) { o.src = src }
}

// ExecutableExists is the default file check: an absolute or relative path
// must name an executable regular file; a bare name must be found in PATH,
// as keepalived (execve through the shell's rules) would find it.
func ExecutableExists(path string) error {
	if !strings.Contains(path, "/") {
		if _, err := exec.LookPath(path); err != nil {
			return fmt.Errorf("%s not found in PATH", path)
		}
		return nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s does not exist", path)
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", path)
	}
	return nil
}
