package cluster

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hagent-dev/hagent/agent/api"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Refusal is an agent's PermissionDenied: the caller's certificate lacks a role. Its
// Error is the one line hactl prints and the console shows.
type Refusal struct {
	// Node is the agent that refused (the name hactl knows it by).
	Node string
	// Identity is the caller as the agent saw it ("tls:CN=dashboard").
	Identity string
	// Method is the call refused (Failover, SetMaintenance); Right the role it needs.
	Method, Right string
	// Detail is the agent's whole message, with its reason.
	Detail string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("%s refused %s: %s lacks the %s right (hagent --operator)", r.Node, r.Method, r.Identity, r.Right)
}

// AsRefusal turns an agent's PermissionDenied into a Refusal of node; other errors
// come back unchanged. The agent names the identity, method and right in an
// ErrorInfo; without one (an older agent) the message stands in for them.
func AsRefusal(node string, err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.PermissionDenied {
		return err
	}
	r := &Refusal{Node: node, Identity: "this certificate", Method: "the call", Right: api.OperatorRight, Detail: st.Message()}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != api.RefusalDomain || info.GetReason() != api.RefusalReason {
			continue
		}
		m := info.GetMetadata()
		r.Identity, r.Method, r.Right = orElse(m["identity"], r.Identity), orElse(m["method"], r.Method), orElse(m["right"], r.Right)
	}
	return r
}

// refusalOf returns err's Refusal, if it is one, so that callers can print it alone
// instead of wrapped in their own context.
func refusalOf(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CertWarnDays is how close to its expiry an agent's API certificate makes hactl warn.
const CertWarnDays = 30

// CertExpiry says when node's API certificate expires, and warn when that is less
// than CertWarnDays away (or past). It returns "" for a node without a TCP listener.
func CertExpiry(node *hactlv1.Node, now time.Time) (text string, warn bool) {
	t := node.GetApi().GetTlsCertNotAfter()
	if t == nil {
		return "", false
	}
	at := t.AsTime()
	left := at.Sub(now)
	when := at.UTC().Format("2006-01-02")
	switch {
	case left <= 0:
		return fmt.Sprintf("API certificate expired on %s", when), true
	case left < 48*time.Hour:
		return fmt.Sprintf("API certificate expires in %s (%s)", left.Round(time.Hour), when), true
	default:
		days := int(left / (24 * time.Hour))
		return fmt.Sprintf("API certificate expires in %d days (%s)", days, when), left < CertWarnDays*24*time.Hour
	}
}
