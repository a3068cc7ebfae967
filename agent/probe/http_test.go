package probe

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func httpServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "cenvm71 ok") })
	mux.HandleFunc("/bad", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "bad gateway", http.StatusBadGateway) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, strings.Repeat("y", 2*MaxHTTPBody), "needle")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func httpReason(t *testing.T, spec HTTPSpec) Result {
	t.Helper()
	spec.Name = "web"
	if spec.Interval == 0 {
		spec.Interval = 100 * time.Millisecond
	}
	p, err := NewHTTP(spec)
	if err != nil {
		t.Fatal(err)
	}
	return start(t, p).result(3 * time.Second)
}

func TestHTTPChecks(t *testing.T) {
	t.Parallel()
	srv := httpServer(t)
	for _, tc := range []struct {
		name string
		spec HTTPSpec
		ok   bool
		err  string
	}{
		{"ok", HTTPSpec{URL: srv.URL + "/ok", BodyContains: "ok"}, true, ""},
		{"status mismatch", HTTPSpec{URL: srv.URL + "/bad"}, false, "status 502, want 200"},
		{"expected status", HTTPSpec{URL: srv.URL + "/bad", Status: 502}, true, ""},
		{"body", HTTPSpec{URL: srv.URL + "/ok", BodyContains: "cenvm72"}, false, `body does not contain "cenvm72"`},
		{"body read is bounded", HTTPSpec{URL: srv.URL + "/big", BodyContains: "needle"}, false, `body does not contain "needle"`},
		{"timeout", HTTPSpec{URL: srv.URL + "/slow", Timeout: 200 * time.Millisecond}, false, "timeout after 200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := httpReason(t, tc.spec)
			if res.OK != tc.ok || res.Err != tc.err {
				t.Fatalf("result = %+v, want ok=%v err=%q", res, tc.ok, tc.err)
			}
			if tc.name == "timeout" && res.Duration > time.Second {
				t.Errorf("timeout took %v", res.Duration)
			}
		})
	}
}

func TestHTTPConnectionRefusedAfterClose(t *testing.T) {
	t.Parallel()
	srv := httpServer(t)
	p, err := NewHTTP(HTTPSpec{Name: "web", URL: srv.URL + "/ok", Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, p)
	if res := r.result(2 * time.Second); !res.OK {
		t.Fatalf("first check = %+v, want OK", res)
	}
	srv.Close()
	c := r.change(false, 2*time.Second)
	if c.Reason != "connect: connection refused" {
		t.Fatalf("reason = %q, want connect: connection refused", c.Reason)
	}
}

func TestNewHTTPValidates(t *testing.T) {
	t.Parallel()
	for _, spec := range []HTTPSpec{
		{Name: "x", URL: "ftp://127.0.0.1/"},
		{Name: "x", URL: "http://127.0.0.1/", Interval: 10 * time.Millisecond},
		{URL: "http://127.0.0.1/"},
	} {
		if _, err := NewHTTP(spec); err == nil {
			t.Errorf("NewHTTP(%+v) accepted", spec)
		}
	}
}
