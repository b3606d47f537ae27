package soap

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// errDuration is the cause wrapped when an xs:duration does not parse.
var errDuration = errors.New("soap: invalid xs:duration")

// ParseDuration parses an xs:duration as WS-Management uses it
// (PT60.000S, PT0.5S, P1DT2H, PT1M30S). A year counts as 365 days and a month
// as 30 days, since a timeout has no calendar to anchor it. Negative
// durations, empty designators ("P", "PT") and values beyond time.Duration's
// range are errors. Fractions are allowed on the seconds only.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("%w: %q", errDuration, orig)
	}
	if !strings.HasPrefix(s, "P") {
		return bad()
	}
	s = s[1:]
	if s == "" {
		return bad()
	}
	var total float64 // nanoseconds
	inTime := false
	sawComponent := false
	order := "YMD" // designators still allowed before T
	for s != "" {
		if s[0] == 'T' {
			if inTime || len(s) == 1 {
				return bad()
			}
			inTime = true
			order = "HMS"
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return bad()
		}
		num, designator := s[:i], s[i]
		s = s[i+1:]
		k := strings.IndexByte(order, designator)
		if k < 0 {
			return bad()
		}
		order = order[k+1:]
		if strings.Contains(num, ".") && !(inTime && designator == 'S') {
			return bad()
		}
		if strings.Count(num, ".") > 1 || num[0] == '.' || num[len(num)-1] == '.' {
			return bad()
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return bad()
		}
		var unit time.Duration
		switch {
		case !inTime && designator == 'Y':
			unit = 365 * 24 * time.Hour
		case !inTime && designator == 'M':
			unit = 30 * 24 * time.Hour
		case !inTime && designator == 'D':
			unit = 24 * time.Hour
		case inTime && designator == 'H':
			unit = time.Hour
		case inTime && designator == 'M':
			unit = time.Minute
		case inTime && designator == 'S':
			unit = time.Second
		}
		total += v * float64(unit)
		sawComponent = true
	}
	if !sawComponent || total > math.MaxInt64 {
		return bad()
	}
	return time.Duration(math.Round(total)), nil
}

// FormatDuration writes d as an xs:duration the way Windows writes
// timeouts: seconds with three decimals, e.g. PT60.000S. Negative durations
// are written as PT0.000S.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	ms := d.Milliseconds()
	return fmt.Sprintf("PT%d.%03dS", ms/1000, ms%1000)
}
