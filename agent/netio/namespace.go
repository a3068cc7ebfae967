package netio

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/vishvananda/netns"
)

// InNamespace runs fn on an OS thread switched into the network namespace
// name (a name under /var/run/netns, as `ip netns add` creates, or a path
// such as /proc/PID/ns/net) and returns fn's error.
//
// fn runs on its own goroutine, locked to its thread; goroutines fn starts
// do not inherit the namespace, but sockets fn opens keep it for their whole
// life. If the thread cannot be switched back, it is left locked so the Go
// runtime discards it rather than reuse it in the wrong namespace.
func InNamespace(name string, fn func() error) error {
	var (
		target netns.NsHandle
		err    error
	)
	if strings.ContainsRune(name, '/') {
		target, err = netns.GetFromPath(name)
	} else {
		target, err = netns.GetFromName(name)
	}
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", name, err)
	}
	defer target.Close()

	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("get current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			// setns failed, so the thread is still where it was.
			runtime.UnlockOSThread()
			done <- fmt.Errorf("enter network namespace %s: %w", name, err)
			return
		}
		fnErr := fn()
		if err := netns.Set(orig); err != nil {
			// Stay locked: the thread dies with this goroutine.
			done <- errors.Join(fnErr, fmt.Errorf("leave network namespace %s: %w", name, err))
			return
		}
		runtime.UnlockOSThread()
		done <- fnErr
	}()
	return <-done
}
