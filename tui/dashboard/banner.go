package dashboard

import (
	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/tui/format"
	"github.com/hagent-dev/hagent/tui/theme"
)

// Banners renders the cluster alarms, one full-width line each: split brain in red,
// no master and an API certificate close to its expiry in amber. rows are the
// dashboard's (State.Instances, already built for the redraw).
func Banners(th *theme.Theme, st *cluster.State, rows []cluster.InstanceRow, width int) []string {
	var out []string
	for _, a := range cluster.SplitBrainOf(rows) {
		out = append(out, th.BannerSplit.Render(format.Pad(format.Fit(" SPLIT BRAIN "+a.String()+" all MASTER", width), width)))
	}
	for _, a := range cluster.NoMasterOf(rows) {
		out = append(out, th.BannerNoMaster.Render(format.Pad(format.Fit(" NO MASTER "+a.String(), width), width)))
	}
	for _, w := range st.CertWarnings() {
		out = append(out, th.BannerNoMaster.Render(format.Pad(format.Fit(" CERTIFICATE "+w, width), width)))
	}
	return out
}
