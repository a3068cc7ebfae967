package cluster

import "github.com/hagent-dev/hagent/agent/sanitize"

// Printable escapes what a terminal would act on in text from an agent or
// about one (ESC, other C0 and C1 controls, bidi overrides) and makes it
// valid UTF-8. Everything the cluster package hands out from an agent is
// already escaped; this is for the text a console builds itself around
// errors.
func Printable(s string) string { return sanitize.Printable(s) }
