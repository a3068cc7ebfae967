package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfigHidesAuthPass: `hagent -t` names auth_pass and its position in its
// warnings and errors, never the password or a part of it.
func TestCheckConfigHidesAuthPass(t *testing.T) {
	t.Parallel()
	const secret = "Zq7secretpart"
	for name, auth := range map[string]string{
		"too long":    "auth_pass " + secret,
		"extra words": "auth_pass Zq7secr etpart Zq7more",
		"comment cut": "auth_pass Zq7secr#etpart",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keepalived.conf")
			conf := "vrrp_instance VI_1 {\n  state BACKUP\n  interface lo\n  virtual_router_id 51\n  priority 100\n" +
				"  authentication {\n    auth_type PASS\n    " + auth + "\n  }\n  virtual_ipaddress {\n    192.0.2.9\n  }\n  bogus_keyword Zq7\n}\n"
			if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run([]string{"-t", "-f", path}, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if !strings.Contains(out, path+":8:") || !strings.Contains(out, "auth_pass") {
				t.Errorf("exit %d: no warning naming auth_pass at %s:8:\n%s", code, path, out)
			}
			for _, part := range []string{"Zq7secr", "etpart", "Zq7more"} {
				if strings.Contains(out, part) {
					t.Errorf("hagent -t printed %q, a part of the password:\n%s", part, out)
				}
			}
		})
	}
}
