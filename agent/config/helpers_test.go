package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// mapSource serves files from memory, so tests and the fuzzer never touch
// the disk through include.
type mapSource map[string]string

func (m mapSource) ReadFile(name string) ([]byte, error) {
	if s, ok := m[name]; ok {
		return []byte(s), nil
	}
	return nil, fs.ErrNotExist
}

func (m mapSource) Glob(pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	var out []string
	for name := range m {
		if ok, _ := filepath.Match(pattern, name); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// parseOK parses src (as test.conf) and fails the test on any error.
func parseOK(t *testing.T, src string, opts ...Option) *Config {
	t.Helper()
	cfg, err := Parse("test.conf", []byte(src), append([]Option{withSource(mapSource{}), CheckFiles(false)}, opts...)...)
	if err != nil {
		t.Fatalf("Parse: unexpected error:\n%v", err)
	}
	return cfg
}

// parseErrs parses src (as test.conf) and returns its error lines.
func parseErrs(t *testing.T, src string, opts ...Option) []string {
	t.Helper()
	cfg, err := Parse("test.conf", []byte(src), append([]Option{withSource(mapSource{}), CheckFiles(false)}, opts...)...)
	if cfg == nil {
		t.Fatalf("Parse returned a nil Config with error %v", err)
	}
	if err == nil {
		return nil
	}
	var list *Errors
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want *Errors: %v", err, err)
	}
	return strings.Split(list.Error(), "\n")
}

// warnings returns the warning lines of cfg.
func warnings(cfg *Config) []string {
	out := make([]string, len(cfg.Warnings))
	for i, w := range cfg.Warnings {
		out[i] = w.Error()
	}
	return out
}

// hasLine reports whether one of lines equals want.
func hasLine(lines []string, want string) bool {
	return slices.Contains(lines, want)
}

// minimal is a valid instance to which tests add lines.
func instance(body string) string {
	return "vrrp_instance VI_1 {\n" +
		"    interface eth0\n" +
		"    virtual_router_id 51\n" +
		"    virtual_ipaddress {\n        10.0.0.1\n    }\n" +
		body +
		"}\n"
}
