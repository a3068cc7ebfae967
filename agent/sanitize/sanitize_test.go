package sanitize

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

func TestUTF8ReplacesInvalidBytes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ok", "ok"},
		{"caf\xe9", "caf\uFFFD"},                   // Latin-1 é
		{"\xb4\xed\xce\xf3 error", "\uFFFD error"}, // GBK 错误: one run, one U+FFFD
		{"héllo", "héllo"},
	} {
		if got := UTF8(c.in); got != c.want {
			t.Errorf("UTF8(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestClipCutsAtRuneBoundary(t *testing.T) {
	s := strings.Repeat("é", 10) // 20 bytes
	got := Clip(s, 5)
	if got != "éé" {
		t.Errorf("Clip(10×é, 5) = %q, want %q (cut before the straddling rune)", got, "éé")
	}
	if got := Clip("ab\xffcd", 3); got != "ab" || !utf8.ValidString(got) {
		t.Errorf("Clip(ab\\xffcd, 3) = %q, want %q", got, "ab")
	}
	if got := Clip("abc", 0); got != "" {
		t.Errorf("Clip(abc, 0) = %q", got)
	}
}

// TestMessageMakesStatusMarshalable builds a snapshot with invalid UTF-8 in a
// nested, repeated string field (a probe result's output, the case that
// blinded GetStatus) and in a list of strings, and checks it marshals after
// Message and not before.
func TestMessageMakesStatusMarshalable(t *testing.T) {
	node := &hactlv1.Node{
		Name:         "cenvm71",
		ApiListeners: []string{"unix:///run/\xff.sock"},
		Instances: []*hactlv1.Instance{{
			Name: "VI_1",
			Probes: []*hactlv1.Probe{{
				Name:    "chk",
				Reason:  "exit status 1",
				Results: []*hactlv1.ProbeResult{{Output: "caf\xe9"}},
			}},
		}},
	}
	if _, err := proto.Marshal(node); err == nil {
		t.Fatal("marshal with invalid UTF-8 succeeded; the test no longer proves anything")
	}
	if !Message(node) {
		t.Error("Message reported no change")
	}
	if _, err := proto.Marshal(node); err != nil {
		t.Fatalf("marshal after Message: %v", err)
	}
	if got := node.GetInstances()[0].GetProbes()[0].GetResults()[0].GetOutput(); got != "caf\uFFFD" {
		t.Errorf("output = %q, want %q", got, "caf\uFFFD")
	}
	if got := node.GetApiListeners()[0]; got != "unix:///run/\uFFFD.sock" {
		t.Errorf("listener = %q", got)
	}
	if Message(node) {
		t.Error("Message changed an already valid message")
	}
}

func TestPrintableEscapesTerminalControls(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text, é, 中文", "plain text, é, 中文"},
		{"\x1b[2Jcleared", `\x1b[2Jcleared`},
		{"line1\nline2\r\t", `line1\x0aline2\x0d\x09`},
		{"bell\a del\x7f", `bell\x07 del\x7f`},
		{"csi\u009b2J", `csi\u{009b}2J`},
		{"evil\u202etxt.exe", `evil\u{202e}txt.exe`},
		{"bad\xffbyte", "bad\uFFFDbyte"},
	} {
		if got := Printable(c.in); got != c.want {
			t.Errorf("Printable(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPrintableMessageEscapesEveryString(t *testing.T) {
	node := &hactlv1.Node{Instances: []*hactlv1.Instance{{
		Name: "VI_1", StateReason: "fault: chk: \x1b[2J",
		Faults: []*hactlv1.FaultSource{{Source: "script chk", Reason: "\x1b]0;pwned\a"}},
	}}}
	if !PrintableMessage(node) {
		t.Fatal("PrintableMessage reported no change")
	}
	in := node.GetInstances()[0]
	if in.GetStateReason() != `fault: chk: \x1b[2J` || in.GetFaults()[0].GetReason() != `\x1b]0;pwned\x07` {
		t.Errorf("got reason %q, fault %q", in.GetStateReason(), in.GetFaults()[0].GetReason())
	}
	if in.GetName() != "VI_1" {
		t.Errorf("name changed to %q", in.GetName())
	}
}

func TestClipDropsTheSplitCharacter(t *testing.T) {
	s := "ab" + strings.Repeat("é", 3) // 8 bytes
	if got := Clip(s, 5); got != "abé" {
		t.Errorf("Clip = %q, want %q", got, "abé")
	}
	if got := TrimPartialRune("abc\xc3"); got != "abc" {
		t.Errorf("TrimPartialRune = %q", got)
	}
	if got := TrimPartialRune("ab\xe4\xb8"); got != "ab" {
		t.Errorf("TrimPartialRune = %q", got)
	}
	if got := TrimPartialRune("abé"); got != "abé" {
		t.Errorf("TrimPartialRune(complete) = %q", got)
	}
}

// TestPrintableReturnsCleanTextAsIs checks the fast path: text that needs nothing is the
// same string (no copy, no allocation), the bulk of what a console receives.
func TestPrintableReturnsCleanTextAsIs(t *testing.T) {
	for _, s := range []string{"", "VI_200", "192.168.188.109", "plain text, é, 中文"} {
		if got := Printable(s); got != s {
			t.Errorf("Printable(%q) = %q", s, got)
		}
		if n := testing.AllocsPerRun(100, func() { _ = Printable(s) }); n != 0 {
			t.Errorf("Printable(%q) allocates %v times", s, n)
		}
	}
}

// BenchmarkPrintableMessageTimingBatch is what the console does to a batch of 64
// advert timings (what 255 instances at advert_int 1 report in a quarter of a second).
func BenchmarkPrintableMessageTimingBatch(b *testing.B) {
	d := durationpb.New(time.Second)
	timing := &hactlv1.AdvertTiming{
		Configured: d, MasterAdverInterval: d, Min: d, Mean: d, Max: d, Jitter: d,
		LastAdvertAt: timestamppb.Now(), LastAdvertAge: d, MasterDownAt: timestamppb.Now(), MasterDownInterval: d,
	}
	for range 16 {
		timing.Recent = append(timing.Recent, d)
	}
	batch := &hactlv1.AdvertTimingBatchEvent{}
	for i := range 64 {
		batch.Timings = append(batch.Timings, &hactlv1.AdvertTimingEvent{
			Instance:      "VI_" + strings.Repeat("1", i%3+1),
			Timing:        timing,
			Master:        &hactlv1.Master{Address: "192.168.188.71", Priority: 100},
			ReceiveErrors: []*hactlv1.ReceiveErrorCount{{Cause: "ttl", Count: 1}},
		})
	}
	resp := &hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_AdvertTimingBatch{AdvertTimingBatch: batch}}
	b.ReportAllocs()
	for b.Loop() {
		PrintableMessage(resp)
	}
}
