package cluster

import (
	"github.com/hagent-dev/hagent/agent/api"

	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Agent is one hagent API endpoint.
type Agent struct {
	// Name is the node name the operator uses (cenvm71).
	Name string
	// Addr is unix:///path or tcp://host:port, as in hagent's --api.
	Addr string
}

// TLSFiles are the client certificate, its key and the cluster CA, used for tcp:// agents.
type TLSFiles = api.TLSFiles

// Config is the set of agents the console talks to.
type Config struct {
	Agents []Agent
	TLS    TLSFiles
}

// Agent returns the configured agent called name.
func (c Config) Agent(name string) (Agent, bool) {
	for _, a := range c.Agents {
		if a.Name == name {
			return a, true
		}
	}
	return Agent{}, false
}

// Validate checks that every agent has a name, a supported address, and that names are unique.
func (c Config) Validate() error {
	if len(c.Agents) == 0 {
		return errors.New("no agents configured (use --agent NAME=ADDR or --cluster FILE)")
	}
	seen := make(map[string]bool, len(c.Agents))
	for _, a := range c.Agents {
		if a.Name == "" {
			return fmt.Errorf("agent %q: empty name", a.Addr)
		}
		if seen[a.Name] {
			return fmt.Errorf("agent %q configured twice", a.Name)
		}
		seen[a.Name] = true
		if _, err := api.ParseAddr(a.Addr); err != nil {
			return fmt.Errorf("agent %q: %w", a.Name, err)
		}
	}
	return nil
}

// clusterFile is the YAML shape of a cluster file:
//
//	agents:
//	  - {name: cenvm71, address: tcp://192.168.188.71:7443}
//	tls: {cert: client.pem, key: client-key.pem, ca: ca.pem}
type clusterFile struct {
	Agents []struct {
		Name    string `yaml:"name"`
		Address string `yaml:"address"`
	} `yaml:"agents"`
	TLS struct {
		Cert string `yaml:"cert"`
		Key  string `yaml:"key"`
		CA   string `yaml:"ca"`
	} `yaml:"tls"`
}

// LoadClusterFile reads a cluster file. Unknown keys are errors, so a typo does not
// silently drop an agent or the TLS settings.
func LoadClusterFile(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("open cluster file: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var cf clusterFile
	if err := dec.Decode(&cf); err != nil {
		return Config{}, fmt.Errorf("parse cluster file %s: %w", path, err)
	}
	cfg := Config{TLS: TLSFiles{Cert: cf.TLS.Cert, Key: cf.TLS.Key, CA: cf.TLS.CA}}
	for _, a := range cf.Agents {
		cfg.Agents = append(cfg.Agents, Agent{Name: a.Name, Addr: a.Address})
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("cluster file %s: %w", path, err)
	}
	return cfg, nil
}

// ParseAgentFlag parses one --agent NAME=ADDR.
func ParseAgentFlag(s string) (Agent, error) {
	name, addr, ok := strings.Cut(s, "=")
	if !ok || name == "" || addr == "" {
		return Agent{}, fmt.Errorf("--agent %q: want NAME=ADDR (unix:///path or tcp://host:port)", s)
	}
	if _, err := api.ParseAddr(addr); err != nil {
		return Agent{}, fmt.Errorf("--agent %q: %w", s, err)
	}
	return Agent{Name: name, Addr: addr}, nil
}
