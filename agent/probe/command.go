package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// scriptEnv is the whole environment of scripts and restart commands:
// predictable, whatever the agent itself was started with.
var scriptEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/",
	"LANG=C",
}

// pipeWaitDelay bounds how long Wait keeps reading the output pipe after the
// command exited, when something it left behind still holds the pipe open.
const pipeWaitDelay = 500 * time.Millisecond

// command is a parsed script line, ready to run many times.
type command struct {
	argv []string
	cred *syscall.Credential // nil: run as the agent
	// dieWithAgent kills the command if the agent dies (keepalived sets
	// PR_SET_PDEATHSIG for scripts). Not for restart commands, which may
	// legitimately start a long-lived service.
	dieWithAgent bool
}

// parseCommand splits line like keepalived does and decides how to run it.
//
// keepalived 2.2.7 (lib/notify.c, check_script_secure and system_call_script)
// splits the script string into words, honouring quotes, and execve()s the
// first word directly. Only when libmagic says the file is not an executable
// (a script without a "#!" line, like the seed's check_ng.sh) does it fall
// back to system(), i.e. /bin/sh -c. We do the same without libmagic: a file
// that starts with neither "#!" nor an ELF header is run as `/bin/sh FILE
// ARGS...`, which is what sh does with such a file anyway. Shell syntax in
// the line itself (pipes, redirections, $VARS) is never interpreted, as in
// keepalived.
func parseCommand(line, userName, groupName string) (command, error) {
	argv, err := splitWords(line)
	if err != nil {
		return command{}, err
	}
	if len(argv) == 0 {
		return command{}, errors.New("empty command")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return command{}, fmt.Errorf("find %q: %w", argv[0], err)
	}
	argv[0] = path
	if !hasInterpreterOrELF(path) {
		argv = append([]string{"/bin/sh"}, argv...)
	}
	cred, err := credential(userName, groupName)
	if err != nil {
		return command{}, err
	}
	return command{argv: argv, cred: cred}, nil
}

// splitWords splits on blanks; single and double quotes group words and a
// backslash outside single quotes escapes the next character.
func splitWords(s string) ([]string, error) {
	var (
		words   []string
		cur     []rune
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			cur = append(cur, r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur = append(cur, r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, string(cur))
				cur, inWord = cur[:0], false
			}
		default:
			cur = append(cur, r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if escaped {
		return nil, fmt.Errorf("trailing backslash in %q", s)
	}
	if inWord {
		words = append(words, string(cur))
	}
	return words, nil
}

func hasInterpreterOrELF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true // let exec report the real error
	}
	defer f.Close()
	var head [4]byte
	n, _ := f.Read(head[:])
	return bytes.HasPrefix(head[:n], []byte("#!")) || bytes.Equal(head[:n], []byte("\x7fELF"))
}

// credential resolves user and group names (or numbers) like keepalived's
// `user USERNAME [GROUPNAME]`: the group defaults to the user's primary group
// and the supplementary groups are cleared.
func credential(userName, groupName string) (*syscall.Credential, error) {
	if userName == "" && groupName == "" {
		return nil, nil
	}
	cred := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
	if userName != "" {
		u, err := user.Lookup(userName)
		if err != nil {
			if u, err = user.LookupId(userName); err != nil {
				return nil, fmt.Errorf("look up script user %q: %w", userName, err)
			}
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cred.Uid, cred.Gid = uint32(uid), uint32(gid)
	}
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			if g, err = user.LookupGroupId(groupName); err != nil {
				return nil, fmt.Errorf("look up script group %q: %w", groupName, err)
			}
		}
		gid, _ := strconv.ParseUint(g.Gid, 10, 32)
		cred.Gid = uint32(gid)
	}
	cred.Groups = []uint32{cred.Gid}
	return cred, nil
}

// run executes the command once. It returns the bounded combined output and
// the reason it failed ("" when it exited 0). At timeout the whole process
// group is killed, so children the script started die with it.
func (c command) run(ctx context.Context, timeout time.Duration) (output string, failure string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Env = scriptEnv
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.dieWithAgent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	}
	if c.cred != nil {
		cmd.SysProcAttr.Credential = c.cred
	}
	cmd.Cancel = func() error {
		// The child is its own process group leader (Setpgid), so -pid
		// names the group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = pipeWaitDelay
	var buf boundedBuffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	output = clip(buf.String())
	switch {
	case err == nil:
		return output, ""
	case ctx.Err() == context.DeadlineExceeded:
		return output, fmt.Sprintf("timeout after %v", timeout)
	case ctx.Err() != nil:
		return output, "canceled"
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return output, fmt.Sprintf("killed by signal %v", ws.Signal())
		}
		return output, fmt.Sprintf("exit status %d", exitErr.ExitCode())
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		return output, "" // exited 0; a leftover child kept the pipe open
	}
	return output, err.Error()
}

// boundedBuffer keeps the first MaxOutput bytes written and discards the
// rest while still accepting it, so a chatty script neither blocks on a full
// pipe nor grows our memory.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := MaxOutput - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
