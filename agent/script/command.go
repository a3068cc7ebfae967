package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hagent-dev/hagent/agent/sanitize"
)

// Env is the whole environment of every command: predictable, whatever the
// agent itself was started with.
var Env = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/",
	"LANG=C",
}

// MaxOutput bounds the output kept of one run (the rest is read and dropped,
// so that a chatty command never blocks on a full pipe).
const MaxOutput = 4096

// pipeWaitDelay bounds how long Wait keeps reading the output pipe after the
// command exited, when something it left behind still holds the pipe open.
const pipeWaitDelay = 500 * time.Millisecond

// Command is a parsed command line, ready to run many times.
type Command struct {
	// words is the command line as written, split; argv is it as executed
	// (nil while the program is missing).
	words []string
	argv  []string
	// shell is set when argv[0] is /bin/sh running a file without "#!".
	shell bool
	as    Identity
	// missing says why the program could not be found (or may not run): a
	// script deployed after the agent is picked up by the next Locate or Run
	// (issue 17). Empty once found.
	missing string
	// DieWithAgent kills the command if the agent dies (keepalived sets
	// PR_SET_PDEATHSIG for the scripts it execs). Not for restart commands,
	// which may legitimately start a long-lived service.
	DieWithAgent bool
	// Secure is enable_script_security: a program found after the
	// configuration was checked (it was missing then) must pass Insecure
	// before it runs as root, as check_script_secure would have required.
	Secure bool
}

// Parse splits line like keepalived does and decides how to run it as id.
//
// keepalived 2.2.7 (lib/notify.c check_script_secure, system_call_script)
// splits the script string into words, honouring quotes, and execve()s the
// first word directly. Only when libmagic says the file is not an executable
// (a script without a "#!" line, like the seed's check_ng.sh) does it fall
// back to system(), i.e. /bin/sh. We do the same without libmagic: a file
// that starts with neither "#!" nor an ELF header is run as
// `/bin/sh FILE ARGS...`, which is what sh does with such a file anyway.
// Shell syntax in the line itself (pipes, redirections, $VARS) is never
// interpreted, as in keepalived.
func Parse(line string, id Identity) (Command, error) {
	argv, err := Split(line)
	if err != nil {
		return Command{}, err
	}
	return ParseArgv(argv, id)
}

// ParseArgv is Parse for a command line already split into words (a notify
// script with the arguments keepalived appends).
//
// A program that is missing or not executable is not an error: Missing says
// why, and every Run looks for it again (Locate), so that a script deployed
// after the agent started runs from then on. keepalived 2.2.7 disables such a
// script until a reload instead (check_script_secure, SC_NOTFOUND).
func ParseArgv(argv []string, id Identity) (Command, error) {
	if len(argv) == 0 {
		return Command{}, errors.New("empty command")
	}
	c := Command{words: append([]string(nil), argv...), as: id}
	c.locate()
	return c, nil
}

// Missing says why the program could not be found or run when the command
// was parsed or last located, or "" when it was found.
func (c Command) Missing() string { return c.missing }

// Locate looks for a missing program again and reports whether it is found
// now. Run does the same on its own copy; Locate keeps the result, so that a
// caller running the command many times looks for the file only until it is
// there.
func (c *Command) Locate() bool {
	if c.missing != "" {
		c.locate()
	}
	return c.missing == ""
}

// locate finds the program (a bare name in PATH) and decides whether it runs
// through /bin/sh, which it re-decides for a file found late.
func (c *Command) locate() {
	path, err := exec.LookPath(c.words[0])
	if err != nil {
		c.argv, c.shell, c.missing = nil, false, missingProgram(c.words[0], err)
		return
	}
	if c.Secure {
		if why := Insecure(path, c.as); why != "" {
			c.argv, c.shell, c.missing = nil, false, "insecure: "+why
			return
		}
	}
	argv := append([]string{path}, c.words[1:]...)
	c.argv, c.shell, c.missing = argv, false, ""
	if !hasInterpreterOrELF(path) {
		c.argv, c.shell = append([]string{"/bin/sh"}, argv...), true
	}
}

// missingProgram words a failed lookup for an operator, like
// config.ExecutableExists.
func missingProgram(name string, err error) string {
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Sprintf("%s not found in PATH", name)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("%s does not exist", name)
	case errors.Is(err, os.ErrPermission):
		return fmt.Sprintf("%s is not executable", name)
	}
	return sanitize.UTF8(fmt.Sprintf("find %s: %v", name, err))
}

// Path is the program the command runs (the script itself when /bin/sh runs
// it), or the word naming it while it is missing.
func (c Command) Path() string {
	switch {
	case c.argv == nil:
		return c.words[0]
	case c.shell:
		return c.argv[1]
	}
	return c.argv[0]
}

// Argv is the command line as executed (as written while the program is
// missing).
func (c Command) Argv() []string {
	if c.argv == nil {
		return append([]string(nil), c.words...)
	}
	return append([]string(nil), c.argv...)
}

// As is who the command runs as.
func (c Command) As() Identity { return c.as }

// Split splits on blanks; single and double quotes group words and a
// backslash outside single quotes escapes the next character.
func Split(s string) ([]string, error) {
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

// Run executes the command once and returns its output (trimmed, at most
// MaxOutput bytes of valid UTF-8) and why it failed ("" when it exited 0).
// At the timeout, or when ctx ends, the whole process group is killed, so
// children the command started die with it.
//
// A program still missing (see Missing) fails the run with the reason, without
// starting anything.
func (c Command) Run(ctx context.Context, timeout time.Duration) (output, failure string) {
	if !c.Locate() {
		return "", c.missing
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var buf boundedBuffer
	err := c.start(ctx, c.argv, &buf)
	if errors.Is(err, syscall.ENOEXEC) && !c.shell {
		// The file changed since Parse, or has an unusual header: the kernel
		// cannot exec it, so do what keepalived's system() fallback does.
		err = c.start(ctx, append([]string{"/bin/sh"}, c.argv...), &buf)
	}
	output = buf.String()
	if len(output) >= MaxOutput {
		// The buffer's byte limit may have split the last character.
		output = sanitize.TrimPartialRune(output)
	}
	output = sanitize.Clip(strings.TrimSpace(output), MaxOutput)
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
	return output, sanitize.UTF8(err.Error())
}

// start runs argv to completion with the command's guarantees.
func (c Command) start(ctx context.Context, argv []string, out *boundedBuffer) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = Env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.DieWithAgent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	}
	if cred := c.as.credential(); cred != nil {
		cmd.SysProcAttr.Credential = cred
	}
	cmd.Cancel = func() error {
		// The child is its own process group leader (Setpgid), so -pid
		// names the group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = pipeWaitDelay
	cmd.Stdout = out
	cmd.Stderr = out
	if err := startNormal(cmd); err != nil {
		return err
	}
	_ = waitExit(cmd.Process.Pid) // on error, Wait blocks its thread instead
	return cmd.Wait()
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
