package api

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Who may do what on the API:
//
//   - the unix socket (root or the agent's own user): everything;
//   - a TCP client whose certificate's CN or a DNS/URI SAN is an operator name
//     (hagent --operator) and that is not marked read-only: everything;
//   - any other TCP client the CA vouches for: GetStatus and Watch.
//
// Refusals are PermissionDenied with an ErrorInfo naming the identity, the method and
// the missing right, so that hactl can say so in one line; they are logged and counted.

// ReadOnlyOU is the subject OU of a certificate made for reading only (`hactl certs
// --reader`): the agent never gives it the operator role, even when its name is an
// operator's, so that a dashboard's certificate cannot become a control by a typo.
const ReadOnlyOU = "hagent-read-only"

// RefusalDomain and RefusalReason are the ErrorInfo of a refusal for a missing role;
// the metadata holds "identity", "method", "right" and "node".
const (
	RefusalDomain = "hagent.dev"
	RefusalReason = "ROLE_REQUIRED"
	// OperatorRight is the right Failover and SetMaintenance need.
	OperatorRight = "operator"
)

// Limits bound what TCP clients can make the agent do. The zero value of a field
// takes its default.
type Limits struct {
	// MaxConns is the total of TCP connections, handshaking or established.
	MaxConns int
	// MaxConnsPerSource is the same per source address.
	MaxConnsPerSource int
	// MaxHandshakes is how many TLS handshakes run at once; the others wait, up to
	// HandshakeTimeout.
	MaxHandshakes int
	// HandshakeTimeout bounds a connection's TLS handshake and HTTP/2 preface.
	HandshakeTimeout time.Duration
	// MaxWatches is the total of Watch streams over TCP (ResourceExhausted past it).
	MaxWatches int
	// ControlRate and ControlBurst are the token bucket of control calls per TCP
	// identity (ResourceExhausted when empty).
	ControlRate  float64
	ControlBurst int
}

// DefaultLimits are generous for a console per operator and a few dashboards, and
// small enough that a flood cannot take more than a sliver of one core.
var DefaultLimits = Limits{
	MaxConns:          256,
	MaxConnsPerSource: 16,
	MaxHandshakes:     2,
	HandshakeTimeout:  3 * time.Second,
	MaxWatches:        64,
	ControlRate:       2,
	ControlBurst:      20,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxConns > 0 {
		d.MaxConns = l.MaxConns
	}
	if l.MaxConnsPerSource > 0 {
		d.MaxConnsPerSource = l.MaxConnsPerSource
	}
	if l.MaxHandshakes > 0 {
		d.MaxHandshakes = l.MaxHandshakes
	}
	if l.HandshakeTimeout > 0 {
		d.HandshakeTimeout = l.HandshakeTimeout
	}
	if l.MaxWatches > 0 {
		d.MaxWatches = l.MaxWatches
	}
	if l.ControlRate > 0 {
		d.ControlRate = l.ControlRate
	}
	if l.ControlBurst > 0 {
		d.ControlBurst = l.ControlBurst
	}
	return d
}

// Refusal reasons, as counted in ApiInfo.refusals and hagent_api_refusals_total.
const (
	refusePermission = "permission"
	refuseRate       = "rate"
	refuseWatchCap   = "watch_cap"
	refuseConnLimit  = "conn_limit"
	refuseHandshake  = "handshake"
)

var refusalReasons = []string{refusePermission, refuseRate, refuseWatchCap, refuseConnLimit, refuseHandshake}

// refusals counts refusals by reason and throttles their log lines, so that a flood
// is visible without writing a line per connection.
type refusals struct {
	counts  map[string]*atomic.Uint64 // fixed keys: refusalReasons
	lastLog map[string]*atomic.Int64  // unix nanoseconds of the last log line per reason
}

func newRefusals() *refusals {
	r := &refusals{counts: map[string]*atomic.Uint64{}, lastLog: map[string]*atomic.Int64{}}
	for _, k := range refusalReasons {
		r.counts[k] = new(atomic.Uint64)
		r.lastLog[k] = new(atomic.Int64)
	}
	return r
}

// add counts one refusal and reports whether it should be logged: always for
// permission refusals (an audit trail, already bounded by the control rate limit),
// else at most once per refusalLogEvery per reason.
func (r *refusals) add(reason string) (log bool) {
	r.counts[reason].Add(1)
	if reason == refusePermission {
		return true
	}
	now := time.Now().UnixNano()
	last := r.lastLog[reason]
	prev := last.Load()
	return now-prev >= int64(refusalLogEvery) && last.CompareAndSwap(prev, now)
}

const refusalLogEvery = 10 * time.Second

func (r *refusals) snapshot() []*hactlv1.ApiRefusalCount {
	out := make([]*hactlv1.ApiRefusalCount, 0, len(refusalReasons))
	for _, k := range refusalReasons {
		out = append(out, &hactlv1.ApiRefusalCount{Reason: k, Count: r.counts[k].Load()})
	}
	return out
}

// bucket is one identity's token bucket of control calls.
type bucket struct {
	tokens float64
	at     time.Time
}

// rateLimiter is a token bucket per identity. Its map is bounded: past maxIdentities
// it forgets identities whose buckets have refilled (they lose nothing by it).
type rateLimiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
}

const maxIdentities = 4096

func (l *rateLimiter) allow(id string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[id]
	if !ok {
		if len(l.buckets) >= maxIdentities {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[id] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *rateLimiter) forgetFull(now time.Time) {
	for id, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, id)
		}
	}
}

// isControl reports whether method changes the agent's state.
func isControl(method string) bool {
	return method == hactlv1.AgentService_Failover_FullMethodName ||
		method == hactlv1.AgentService_SetMaintenance_FullMethodName
}

// shortMethod is "Failover" for "/hactl.v1.AgentService/Failover".
func shortMethod(method string) string {
	return method[strings.LastIndexByte(method, '/')+1:]
}

// isOperator reports whether c may call the control methods.
func (s *Server) isOperator(c caller) bool {
	if c.unix {
		return true
	}
	if c.readOnly {
		return false
	}
	return slices.ContainsFunc(c.names, func(n string) bool { return slices.Contains(s.operators, n) })
}

// authorize decides a call of method by c, after authentication.
func (s *Server) authorize(ctx context.Context, c caller, method string) error {
	if c.unix || !isControl(method) {
		return nil
	}
	// The rate limit comes first, so that a reader hammering the control calls costs
	// a counter, not a log line per call.
	if !s.control.allow(c.id, time.Now()) {
		if s.refused.add(refuseRate) {
			s.log.LogAttrs(ctx, slog.LevelWarn, "api control calls rate limited",
				slog.String("who", c.id), slog.String("method", shortMethod(method)))
		}
		return status.Errorf(codes.ResourceExhausted, "%s: too many control calls (limit %g per second, burst %d)",
			c.id, s.limits.ControlRate, s.limits.ControlBurst)
	}
	if s.isOperator(c) {
		return nil
	}
	node := s.backend.Status().GetName()
	why := "it is not among the agent's --operator names"
	switch {
	case c.readOnly:
		why = "its certificate is read-only (OU=" + ReadOnlyOU + ")"
	case len(s.operators) == 0:
		why = "the agent has no --operator: its TCP API is read-only"
	}
	s.refused.add(refusePermission)
	attrs := []slog.Attr{slog.String("who", c.id), slog.String("method", shortMethod(method)), slog.String("reason", why)}
	if len(c.sans) > 0 {
		attrs = append(attrs, slog.Any("sans", c.sans))
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "api permission denied", attrs...)
	st := status.New(codes.PermissionDenied, fmt.Sprintf("%s may not call %s on %s: it needs the %s role, and %s",
		c.id, shortMethod(method), node, OperatorRight, why))
	if d, err := st.WithDetails(&errdetails.ErrorInfo{
		Reason: RefusalReason,
		Domain: RefusalDomain,
		Metadata: map[string]string{
			"identity": c.id,
			"method":   shortMethod(method),
			"right":    OperatorRight,
			"node":     node,
		},
	}); err == nil {
		st = d
	}
	return st.Err()
}

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := authenticate(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, callerFrom(ctx), info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := authenticate(ss.Context())
	if err != nil {
		return err
	}
	c := callerFrom(ctx)
	if err := s.authorize(ctx, c, info.FullMethod); err != nil {
		return err
	}
	if !c.unix && info.FullMethod == hactlv1.AgentService_Watch_FullMethodName {
		if n := s.watches.Add(1); n > int64(s.limits.MaxWatches) {
			s.watches.Add(-1)
			if s.refused.add(refuseWatchCap) {
				s.log.LogAttrs(ctx, slog.LevelWarn, "api watch refused: too many streams",
					slog.String("who", c.id), slog.Int("limit", s.limits.MaxWatches))
			}
			return status.Errorf(codes.ResourceExhausted, "too many Watch streams on this agent (limit %d)", s.limits.MaxWatches)
		}
		defer s.watches.Add(-1)
	}
	return handler(srv, &authedStream{ServerStream: ss, ctx: ctx})
}
