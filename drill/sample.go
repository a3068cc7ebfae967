package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Sample is one probe request against the VIP as a client saw it.
type Sample struct {
	Start time.Time
	End   time.Time
	OK    bool
	// Status is the HTTP status code, 0 when no response arrived.
	Status int
	// Server is the first line of the response body, which names the host that
	// answered (the lab's nginx serves exactly its host name).
	Server string
	// Kind classifies a failure: timeout, refused, reset, unreachable, eof,
	// http_NNN or other. Empty when OK.
	Kind string
}

// Error kinds a failed sample is counted under.
const (
	KindTimeout     = "timeout"
	KindRefused     = "refused"
	KindReset       = "reset"
	KindUnreachable = "unreachable"
	KindEOF         = "eof"
	KindOther       = "other"
)

// statusKind names the failure of a response with a non-2xx status.
func statusKind(code int) string { return fmt.Sprintf("http_%d", code) }

// errorKind classifies a request error. The order matters: a timeout wraps
// whatever the dial was doing when the deadline hit.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return KindReset
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return KindUnreachable
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return KindEOF
	default:
		return KindOther
	}
}
