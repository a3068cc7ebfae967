package api

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

func TestUnixSocketIsRootOnly(t *testing.T) {
	t.Parallel()
	addr := unixAddr(t)
	path := strings.TrimPrefix(addr, "unix://")
	ts := newTestServer(t, 16)
	ts.serve(t, listen(t, addr, nil))

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("created socket dir mode %v, want 0700", di.Mode().Perm())
	}

	c := dial(t, addr, nil)
	if _, err := c.SetMaintenance(callCtx(t), &hactlv1.SetMaintenanceRequest{On: true}); err != nil {
		t.Fatalf("SetMaintenance: %v", err)
	}
	if calls := ts.backend.Calls(); len(calls) != 1 || calls[0] != "maintenance by unix:uid=0" {
		t.Errorf("backend calls %q, want the root caller's identity", calls)
	}

	if err := ts.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket file left behind after Serve returned: %v", err)
	}
}

// TestUnixPeerCredentialsChecked runs a server whose policy admits nobody: the test,
// connecting as root, must be turned away at the handshake.
func TestUnixPeerCredentialsChecked(t *testing.T) {
	t.Parallel()
	addr := unixAddr(t)
	ts := newTestServer(t, 16)
	ts.allowUID = func(uint32) bool { return false }
	ts.serve(t, listen(t, addr, nil))

	_, err := dial(t, addr, nil).GetStatus(callCtx(t), &hactlv1.GetStatusRequest{})
	wantCode(t, err, codes.Unavailable)
}

func TestUnixListenerReplacesOnlyStaleSockets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	t.Run("stale socket removed", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false) // as a crashed agent leaves it
		ln.Close()
		ln2, err := Listen("unix://"+path, nil)
		if err != nil {
			t.Fatalf("Listen over a stale socket: %v", err)
		}
		ln2.Close()
	})
	t.Run("live socket kept", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if ln2, err := Listen("unix://"+path, nil); err == nil {
			ln2.Close()
			t.Fatal("Listen took over a socket another process listens on")
		}
	})
	t.Run("regular file kept", func(t *testing.T) {
		path := filepath.Join(dir, "file")
		if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
		if ln, err := Listen("unix://"+path, nil); err == nil {
			ln.Close()
			t.Fatal("Listen replaced a regular file")
		}
		if b, _ := os.ReadFile(path); string(b) != "keep me" {
			t.Fatal("regular file changed")
		}
	})
}

// TestServeRefusesUnauthenticatedTransport hands Serve a bare TCP listener, which
// Listen would never return: its connections must be refused, not served in clear.
func TestServeRefusesUnauthenticatedTransport(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, 16)
	ts.serve(t, ln)
	conn, cerr := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	client := clientOn(t, conn, cerr)
	_, err = client.GetStatus(callCtx(t), &hactlv1.GetStatusRequest{})
	wantCode(t, err, codes.Unavailable)
}
