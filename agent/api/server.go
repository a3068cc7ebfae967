package api

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

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

	// life ends when Serve shuts down; it ends the Watch streams so that the graceful
	// stop does not wait for clients that would watch forever.
	life context.Context
	end  context.CancelFunc
}

// NewServer returns the API over backend, streaming the events published into hub.
func NewServer(backend Backend, hub *Hub, log *slog.Logger) *Server {
	life, end := context.WithCancel(context.Background())
	return &Server{
		backend:  backend,
		hub:      hub,
		log:      log,
		allowUID: allowRootOrSelf,
		life:     life,
		end:      end,
	}
}

// GetStatus returns the node's snapshot.
func (s *Server) GetStatus(context.Context, *hactlv1.GetStatusRequest) (*hactlv1.GetStatusResponse, error) {
	return &hactlv1.GetStatusResponse{Node: s.status()}, nil
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
	return s.hub.watch(ctx, req.GetResumeAfter(), s.status, stream.Send)
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
