package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hagent-dev/hagent/agent/api"
)

func runCerts(_ context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("certs", g, stderr, "certs --dir DIR --server NAME=IP[,IP...] ... --client NAME ... --reader NAME ...")
	dir := fs.String("dir", "", "`DIR` for the CA, keys and certificates (created 0700)")
	servers := map[string][]string{}
	var order []string
	fs.Func("server", "agent certificate `NAME=IP[,IP...]` (IPs or DNS names); repeatable", func(s string) error {
		name, hosts, ok := strings.Cut(s, "=")
		if !ok || name == "" || hosts == "" {
			return fmt.Errorf("want NAME=IP[,IP...], got %q", s)
		}
		if _, dup := servers[name]; dup {
			return fmt.Errorf("server %s given twice", name)
		}
		servers[name] = strings.Split(hosts, ",")
		order = append(order, name)
		return nil
	})
	var clients []string
	fs.Func("client", "operator certificate `NAME`; repeatable", func(s string) error {
		if s == "" {
			return fmt.Errorf("empty client name")
		}
		clients = append(clients, s)
		return nil
	})
	var readers []string
	fs.Func("reader", "read-only client certificate `NAME` (status and watch only, never the operator role, whatever hagent's --operator says; for dashboards); repeatable", func(s string) error {
		if s == "" {
			return fmt.Errorf("empty reader name")
		}
		readers = append(readers, s)
		return nil
	})
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "no positional arguments"); err != nil {
		return err
	}
	if *dir == "" || len(servers)+len(clients)+len(readers) == 0 {
		return usageError("certs needs --dir and at least one --server, --client or --reader")
	}
	if err := api.MakePKI(*dir, api.PKIRequest{Servers: servers, Clients: clients, Readers: readers}); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	fmt.Fprintf(stdout, "CA        %s\n", filepath.Join(*dir, "ca.pem"))
	for _, n := range order {
		fmt.Fprintf(stdout, "server    %s (%s)\n", filepath.Join(*dir, n+".pem"), strings.Join(servers[n], ", "))
	}
	for _, n := range clients {
		fmt.Fprintf(stdout, "client    %s\n", filepath.Join(*dir, n+".pem"))
	}
	for _, n := range readers {
		fmt.Fprintf(stdout, "reader    %s (read-only)\n", filepath.Join(*dir, n+".pem"))
	}
	return nil
}
