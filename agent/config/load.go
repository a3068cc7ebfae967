package config

import "fmt"

// Load reads the keepalived.conf at path and everything it includes, and
// checks it. When the configuration has problems the error is *Errors, one
// "FILE:LINE: message" per problem, and the returned Config (never nil then)
// holds what could be read, for diagnostics only. An error reading path
// itself is returned as is.
func Load(path string, opts ...Option) (*Config, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(o)
	}
	data, err := o.src.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, data, o)
}

// Parse reads a configuration from memory; name is used in messages and to
// resolve relative includes. Errors are reported as by Load.
func Parse(name string, src []byte, opts ...Option) (*Config, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(o)
	}
	return parse(name, src, o)
}

func parse(name string, data []byte, o *options) (*Config, error) {
	diags := &diagnostics{}
	r := newReader(o.src, diags)
	r.pre = newPreprocessor(diags, o.configID)
	r.addFile(name, data)
	r.pre.finish()
	tree := buildTree(r.toks, diags)

	p := newParser(diags)
	p.topLevel(tree)
	cfg := p.cfg
	cfg.Files = r.files
	cfg.hash = r.hash()
	p.resolve()
	checker{cfg: cfg, opts: o, diags: diags}.run()

	sortByFile(diags.errs, cfg.Files)
	sortByFile(diags.warns, cfg.Files)
	cfg.Warnings = diags.warns
	if len(diags.errs) > 0 {
		errs := diags.errs
		return cfg, &errs
	}
	return cfg, nil
}
