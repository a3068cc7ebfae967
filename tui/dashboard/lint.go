package dashboard

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hagent-dev/hagent/cluster/lint"
	"github.com/hagent-dev/hagent/tui/format"
	"github.com/hagent-dev/hagent/tui/theme"
)

// maxLintBanners bounds the lint banners, so that a cluster of hundreds of instances
// with findings still leaves room for the dashboard; ? lists every finding.
const maxLintBanners = 3

// LintBanners renders the lint findings, one line per instance concerned: its worst
// finding (errors first) with each node's value, and how many more there are.
func LintBanners(th *theme.Theme, fs []lint.Finding, width int) []string {
	var order []string
	byInst := map[string][]lint.Finding{}
	for _, f := range fs {
		if _, ok := byInst[f.Instance]; !ok {
			order = append(order, f.Instance)
		}
		byInst[f.Instance] = append(byInst[f.Instance], f)
	}
	var out []string
	for i, inst := range order {
		if i == maxLintBanners && len(order) > maxLintBanners+1 {
			out = append(out, th.Warn.Render(format.Fit(fmt.Sprintf(" LINT %d more instances with findings · ? lists them", len(order)-i), width)))
			break
		}
		list := byInst[inst]
		f := list[max(slices.IndexFunc(list, func(f lint.Finding) bool { return f.Severity == lint.Error }), 0)]
		// What and each node's value first: the why is what a narrow screen cuts.
		text := fmt.Sprintf(" LINT %s: %s %s", inst, f.Severity, f.Message)
		if len(f.Values) > 0 {
			parts := make([]string, len(f.Values))
			for i, v := range f.Values {
				parts[i] = v.Node + " " + v.Value
			}
			text += " (" + strings.Join(parts, "; ") + ")"
		}
		if n := len(list) - 1; n > 0 {
			text += fmt.Sprintf(" · +%d more, ? lists", n)
		}
		if f.Why != "" {
			text += " · " + f.Why
		}
		style := th.Warn
		if f.Severity == lint.Error {
			style = th.Bad
		}
		out = append(out, style.Render(format.Fit(text, width)))
	}
	return out
}
