package api

import "testing"

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Addr
		ok   bool
	}{
		{"unix:///run/hagent/hagent.sock", Addr{Unix: true, Path: "/run/hagent/hagent.sock"}, true},
		{"tcp://192.168.188.71:9771", Addr{Path: "192.168.188.71:9771"}, true},
		{"tcp://[fd00::1]:9771", Addr{Path: "[fd00::1]:9771"}, true},
		{"unix://relative.sock", Addr{}, false},
		{"unix://", Addr{}, false},
		{"tcp://192.168.188.71", Addr{}, false},
		{"http://192.168.188.71:9771", Addr{}, false},
		{"/run/hagent/hagent.sock", Addr{}, false},
	} {
		got, err := ParseAddr(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseAddr(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
