package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// maxSeconds bounds every duration so that conversions cannot overflow;
// nothing in a VRRP configuration sensibly waits longer than a day.
const maxSeconds = 86400

// parseSeconds reads keepalived's TIMER syntax: seconds, with an optional
// fraction ("3", "0.5", "2.71828"), kept to the microsecond as keepalived
// does. With units it also accepts Go durations ("500ms", "1.5s"), which is
// only offered in hagent's own blocks since keepalived would read "500ms"
// as 500 seconds.
func parseSeconds(s string, units bool) (time.Duration, error) {
	if units && s != "" && !isDecimal(s) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number of seconds or a duration like 500ms", s)
		}
		if d < 0 || d > maxSeconds*time.Second {
			return 0, fmt.Errorf("%q is out of range 0..%ds", s, maxSeconds)
		}
		return d, nil
	}
	if !isDecimal(s) {
		return 0, fmt.Errorf("%q is not a number of seconds", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number of seconds", s)
	}
	if f > maxSeconds {
		return 0, fmt.Errorf("%q is out of range 0..%ds", s, maxSeconds)
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond, nil
}

// isDecimal accepts "12", "12.", "12.5" and ".5": plain non-negative decimal
// numbers, without the signs, exponents, hex and underscores ParseFloat
// would also take.
func isDecimal(s string) bool {
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// parseInt reads a whole decimal number, optionally signed.
func parseInt(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%q is too large", s)
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return n, nil
}

// parseBool reads keepalived's BOOL: on|off|true|false|yes|no.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "true", "yes":
		return true, nil
	case "off", "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("%q is not one of on, off, true, false, yes, no", s)
}

// parseAddr reads an IP address without a zone (a VRRP address never has one).
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	return a, nil
}

// parseVIPAddress reads ADDR or ADDR/MASK; the mask defaults to the full
// length of the address, as keepalived does.
func parseVIPAddress(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address with a prefix length", s)
		}
		return p, nil
	}
	a, err := parseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// joinWords rebuilds a command line from the words of a statement: a single
// quoted word is taken as is ("script \"/bin/check arg\""), several words are
// joined with single spaces as keepalived passes them as arguments.
func joinWords(toks []token) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.text
	}
	return strings.Join(parts, " ")
}
