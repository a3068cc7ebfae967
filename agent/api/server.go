package api

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hagent-dev/hagent/agent/sanitize"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Server implements hactl.v1.AgentService over a Backend and a Hub: one short method
// per RPC; validation lives in request.go, authentication in identity.go.
type Server struct {
	hactlv1.UnimplementedAgentServiceServer

	backend Backend
	hub     *Hub
	log     *slog.Logger
	// allowUID decides which unix-socket peers may call; root and the agent's own user.
	allowUID func(uid uint32) bool

	// operators are the names with the operator role on TCP (see access.go).
	operators []string
	limits    Limits
	certs     *TLSStore // the TCP listeners' certificate, for status; nil without
	guard     *connGuard
	control   *rateLimiter
	refused   *refusals
	watches   atomic.Int64 // Watch streams over TCP

	// life ends when Serve shuts down; it ends the Watch streams so that the graceful
	// stop does not wait for clients that would watch forever.
	life context.Context
	end  context.CancelFunc
}

// Option configures a Server.
type Option func(*Server)

// WithOperators gives the operator role (Failover, SetMaintenance) to TCP clients
// whose certificate's CN or a DNS/URI SAN is one of names. Without it the TCP API is
// read-only; the unix socket always has full control.
func WithOperators(names ...string) Option {
	return func(s *Server) { s.operators = append(s.operators, names...) }
}

// WithLimits replaces DefaultLimits; zero fields keep their default.
func WithLimits(l Limits) Option { return func(s *Server) { s.limits = l.withDefaults() } }

// WithTLS reports certs' certificate (subject, expiry) in the node's status.
func WithTLS(certs *TLSStore) Option { return func(s *Server) { s.certs = certs } }

// NewServer returns the API over backend, streaming the events published into hub.
func NewServer(backend Backend, hub *Hub, log *slog.Logger, opts ...Option) *Server {
	life, end := context.WithCancel(context.Background())
	s := &Server{
		backend:  backend,
		hub:      hub,
		log:      log,
		allowUID: allowRootOrSelf,
		limits:   DefaultLimits,
		refused:  newRefusals(),
		life:     life,
		end:      end,
	}
	for _, o := range opts {
		o(s)
	}
	s.guard = newConnGuard(s.limits)
	s.control = &rateLimiter{rate: s.limits.ControlRate, burst: float64(s.limits.ControlBurst), buckets: map[string]*bucket{}}
	return s
}

// Status is the backend's snapshot with the API's own state (ApiInfo) added: what
// GetStatus, Watch and /metrics report.
func (s *Server) Status() *hactlv1.Node {
	n := s.status()
	info := &hactlv1.ApiInfo{
		Operators:    slices.Clone(s.operators),
		Refusals:     s.refused.snapshot(),
		WatchStreams: uint32(s.hub.subscriberCount()),
	}
	if s.certs != nil {
		info.TlsCertNotAfter = timestamppb.New(s.certs.NotAfter())
		info.TlsCertSubject = s.certs.Subject()
	}
	n.Api = info
	return n
}

// GetStatus returns the node's snapshot.
func (s *Server) GetStatus(context.Context, *hactlv1.GetStatusRequest) (*hactlv1.GetStatusResponse, error) {
	return &hactlv1.GetStatusResponse{Node: s.Status()}, nil
}

// status is the backend's snapshot made safe to marshal: protobuf refuses
// invalid UTF-8, and one bad byte from a script would otherwise fail every
// GetStatus and Watch.
func (s *Server) status() *hactlv1.Node {
	n := s.backend.Status()
	if sanitize.Message(n) {
		s.log.Debug("status snapshot carried invalid UTF-8; replaced with U+FFFD")
	}
	return n
}

// Watch streams a snapshot (or the missed events) and then live events; see Hub.watch.
func (s *Server) Watch(req *hactlv1.WatchRequest, stream grpc.ServerStreamingServer[hactlv1.WatchResponse]) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	defer context.AfterFunc(s.life, cancel)()
	return s.hub.watch(ctx, req.GetResumeAfter(), req.GetTiming(), s.Status, stream.Send)
}

// Failover asks the agent to move mastership of an instance.
func (s *Server) Failover(ctx context.Context, req *hactlv1.FailoverRequest) (*hactlv1.FailoverResponse, error) {
	if err := validateFailover(req); err != nil {
		return nil, err
	}
	who := callerFrom(ctx)
	resp, err := s.backend.Failover(ctx, req, who.id)
	attrs := []slog.Attr{slog.String("instance", req.GetInstance()), slog.String("mode", req.GetMode().String())}
	if req.GetTargetNode() != "" {
		attrs = append(attrs, slog.String("target_node", req.GetTargetNode()))
	}
	if req.GetDuration() != nil {
		attrs = append(attrs, slog.Duration("duration", req.GetDuration().AsDuration()))
	}
	s.logControl(ctx, "failover", who, err, attrs...)
	return resp, backendError(err)
}

// SetMaintenance holds this node out of mastership, or releases it.
func (s *Server) SetMaintenance(ctx context.Context, req *hactlv1.SetMaintenanceRequest) (*hactlv1.SetMaintenanceResponse, error) {
	if err := validateSetMaintenance(req); err != nil {
		return nil, err
	}
	who := callerFrom(ctx)
	resp, err := s.backend.SetMaintenance(ctx, req, who.id)
	s.logControl(ctx, "maintenance", who, err,
		slog.Bool("on", req.GetOn()),
		slog.String("node", req.GetNode()))
	return resp, backendError(err)
}

// logControl records who asked for what, and how it went: the audit trail of the
// operator's controls.
func (s *Server) logControl(ctx context.Context, action string, who caller, err error, attrs ...slog.Attr) {
	attrs = append([]slog.Attr{slog.String("action", action), slog.String("who", who.id)}, attrs...)
	if len(who.sans) > 0 {
		attrs = append(attrs, slog.Any("sans", who.sans))
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "api control refused", append(attrs, slog.String("error", err.Error()))...)
		return
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "api control", attrs...)
}
