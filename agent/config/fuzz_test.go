package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary bytes to the parser: it must never panic, and
// every problem it reports must carry a file and a line.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/seed/*.conf")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(instance("  track_script {\n    chk weight -20 reverse\n  }\n") + "vrrp_script chk {\n  script \"/bin/true x\"\n  restart_command systemctl restart nginx\n}\n"))
	f.Add([]byte("include inc.conf\nvrrp_http_check web {\n url http://127.0.0.1/\n interval 200ms\n}\n"))
	f.Add([]byte("vrrp_instance X\n{\n virtual_ipaddress { fe80::1 2001:db8::1/64 dev eth0 }\n}\n}\n{\n"))
	// keepalived's line language (preprocess.go): conditionals, parameters
	// (single and multiline, recursive, predefined), sequences and lists.
	f.Add([]byte(conditionalConf))
	f.Add([]byte("vrrp_instance VI_\xff {\n caf\xe9 1\n}\n"))
	f.Add([]byte("@main $PRIO=240\n@^main $PRIO=200\n$IF=eth0\n$B=10.2.${S}\n$S=0\nvrrp_instance VI_1 {\n interface $IF\n priority $PRIO\n virtual_router_id 51\n virtual_ipaddress {\n  ${B}.1\n  ~SEQ(N, 1, 2) 10.0.0.${N}\n  ~SEQx(H, 0x90, 0x10, 0xc0) fe80::${H}\n  ~LST({A, C}, {1,2},{3}) 10.${A}.${C}.1\n }\n}\n"))
	f.Add([]byte("$INST= \\\nvrrp_instance VI_${NUM} { \\\n interface eth0 \\\n @high priority 130 \\\n virtual_router_id 1${NUM} \\\n}\n\n$NUM=0\n$INST\n$NUM=1\n$INST\n"))
	f.Add([]byte("$A=x${A}\n$B= \\\n$B\n\n$B\nglobal_defs {\n router_id ${_INSTANCE}${_RANDOM 1 9}\"${_HASH}\" $A\n ~SEQ(X, 1, 0, 3) y\n}\n"))

	// Includes resolve against an in-memory file that includes itself, so
	// the fuzzer explores includes and cycles without touching the disk.
	src := mapSource{"inc.conf": "vrrp_script inc {\n script /bin/true\n}\ninclude inc.conf\n"}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.conf", data, withSource(src), CheckFiles(false))
		if cfg == nil {
			t.Fatalf("nil Config, err %v", err)
		}
		_ = cfg.Summary()
		if len(cfg.Hash()) != 64 {
			t.Fatalf("hash %q", cfg.Hash())
		}
		for _, w := range cfg.Warnings {
			if w.File == "" || w.Line < 1 || !utf8.ValidString(w.Error()) {
				t.Fatalf("warning without position: %q", w.Error())
			}
		}
		if err == nil {
			return
		}
		var list *Errors
		if !errors.As(err, &list) || len(*list) == 0 {
			t.Fatalf("error %T %v is not a non-empty *Errors", err, err)
		}
		for _, e := range *list {
			if e.File == "" || e.Line < 1 || strings.Contains(e.Msg, "\n") || !utf8.ValidString(e.Error()) {
				t.Fatalf("malformed error %q", e.Error())
			}
		}
	})
}
