package api

import (
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/hagent-dev/hagent/agent/sanitize"
)

// utf8SafeCodec is gRPC's protobuf codec with a last line of defence: protobuf
// refuses to marshal a string field that is not valid UTF-8, which would fail a
// GetStatus, or every Watch stream an event is sent on, with Internal for as long as
// the text stays in the status or the event history. When marshalling fails, the
// message is sent once more as a sanitised copy (sanitize.Message, U+FFFD for the bad
// bytes). Sources make their text valid where it enters the agent; this costs nothing
// until one forgets.
type utf8SafeCodec struct {
	encoding.CodecV2
}

func newUTF8SafeCodec() utf8SafeCodec {
	return utf8SafeCodec{CodecV2: encoding.GetCodecV2(grpcproto.Name)}
}

func (c utf8SafeCodec) Marshal(v any) (mem.BufferSlice, error) {
	out, err := c.CodecV2.Marshal(v)
	if err == nil {
		return out, nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return out, err
	}
	clone := proto.Clone(m)
	if !sanitize.Message(clone) {
		return out, err // not a UTF-8 problem
	}
	return c.CodecV2.Marshal(clone)
}
