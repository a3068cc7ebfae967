package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadClusterFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `
agents:
  - name: cenvm71
    address: tcp://192.168.188.71:7443
  - {name: cenvm72, address: "unix:///run/hagent.sock"}
tls: {cert: client.pem, key: client-key.pem, ca: ca.pem}
`)
	cfg, err := LoadClusterFile(good)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Agents: []Agent{{Name: "cenvm71", Addr: "tcp://192.168.188.71:7443"}, {Name: "cenvm72", Addr: "unix:///run/hagent.sock"}},
		TLS:    TLSFiles{Cert: "client.pem", Key: "client-key.pem", CA: "ca.pem"},
	}
	if len(cfg.Agents) != 2 || cfg.Agents[0] != want.Agents[0] || cfg.Agents[1] != want.Agents[1] || cfg.TLS != want.TLS {
		t.Fatalf("cfg = %+v, want %+v", cfg, want)
	}

	bad := map[string]string{
		"typo.yaml":   "agents:\n  - {name: a, adress: unix:///x}\n",
		"scheme.yaml": "agents:\n  - {name: a, address: http://x:1}\n",
		"dup.yaml":    "agents:\n  - {name: a, address: unix:///x}\n  - {name: a, address: unix:///y}\n",
		"empty.yaml":  "agents: []\n",
	}
	for name, body := range bad {
		if _, err := LoadClusterFile(write(name, body)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LoadClusterFile(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "open cluster file") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestParseAgentFlag(t *testing.T) {
	t.Parallel()
	a, err := ParseAgentFlag("cenvm71=tcp://192.168.188.71:7443")
	if err != nil || a != (Agent{Name: "cenvm71", Addr: "tcp://192.168.188.71:7443"}) {
		t.Fatalf("ParseAgentFlag = %+v, %v", a, err)
	}
	for _, s := range []string{"cenvm71", "=unix:///x", "a=", "a=tcp://nohost", "a=unix://"} {
		if _, err := ParseAgentFlag(s); err == nil {
			t.Errorf("ParseAgentFlag(%q): no error", s)
		}
	}
}

func TestDialTCPNeedsTLS(t *testing.T) {
	t.Parallel()
	_, err := Dial(Agent{Name: "a", Addr: "tcp://127.0.0.1:1"}, TLSFiles{})
	if err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Fatalf("err = %v, want a hint at the TLS flags", err)
	}
}
