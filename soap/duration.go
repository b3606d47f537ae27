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

// ParseDuration parses an xs:duration (XML Schema Part 2, 3.2.6): an
// optional '-', 'P', then years, months and days, and after a 'T' hours,
// minutes and seconds, each an unsigned integer and its designator, in that
// order and each at most once, at least one of them, and a 'T' only before
// a time component. Only the seconds may have a fraction ("PT0.5S", digits
// on both sides of the point; digits below a nanosecond are dropped).
// WS-Management uses it for OperationTimeout (DSP0226) and WS-CIM for
// cim:Interval. Years and months have no fixed length, so only zero counts
// of them are accepted; values beyond time.Duration's range are errors.
// CIM's own interval form (DSP0004 "ddddddddhhmmss.mmmmmm:000") is another
// format, parsed by cimmodel.
func ParseDuration(s string) (time.Duration, error) {
	neg := strings.HasPrefix(s, "-")
	rest, ok := strings.CutPrefix(strings.TrimPrefix(s, "-"), "P")
	if !ok || rest == "" {
		return 0, fmt.Errorf("%w: %q", errDuration, s)
	}
	total, err := durationComponents(rest)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", errDuration, s, err)
	}
	d := time.Duration(total)
	if neg {
		d = -d
	}
	return d, nil
}

// durationComponents adds up the components of an xs:duration after its
// 'P', in nanoseconds.
func durationComponents(rest string) (uint64, error) {
	var total uint64
	inTime, sawComponent := false, false
	order := "YMD" // designators still allowed
	for rest != "" {
		if rest[0] == 'T' {
			if inTime || len(rest) == 1 {
				return 0, errors.New("misplaced T")
			}
			inTime, order = true, "HMS"
			rest = rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, errors.New("a number without its designator")
		}
		num, unit := rest[:i], rest[i]
		rest = rest[i+1:]
		k := strings.IndexByte(order, unit)
		if k < 0 {
			return 0, fmt.Errorf("designator %c out of place", unit)
		}
		order = order[k+1:]
		n, err := durationComponent(num, unit, inTime)
		if err != nil {
			return 0, err
		}
		if n > math.MaxInt64-total {
			return 0, errors.New("out of range")
		}
		total += n
		sawComponent = true
	}
	if !sawComponent {
		return 0, errors.New("no component")
	}
	return total, nil
}

// durationComponent is the length in nanoseconds of one component: the
// number num with designator unit, in the time part when inTime.
func durationComponent(num string, unit byte, inTime bool) (uint64, error) {
	intPart, frac, hasFrac := strings.Cut(num, ".")
	if hasFrac && !(inTime && unit == 'S') {
		return 0, errors.New("a fraction on a component other than seconds")
	}
	if intPart == "" || (hasFrac && (frac == "" || strings.Contains(frac, "."))) {
		return 0, errors.New("malformed number")
	}
	n, err := strconv.ParseUint(intPart, 10, 63)
	if err != nil {
		return 0, errors.New("out of range")
	}
	var unitLen uint64
	switch {
	case !inTime && (unit == 'Y' || unit == 'M'):
		if n != 0 {
			return 0, errors.New("years and months have no fixed length")
		}
		return 0, nil
	case !inTime && unit == 'D':
		unitLen = uint64(24 * time.Hour)
	case unit == 'H':
		unitLen = uint64(time.Hour)
	case unit == 'M':
		unitLen = uint64(time.Minute)
	default: // 'S'
		unitLen = uint64(time.Second)
	}
	if n > math.MaxInt64/unitLen {
		return 0, errors.New("out of range")
	}
	n *= unitLen
	if hasFrac {
		ns, err := strconv.ParseUint((frac + "000000000")[:9], 10, 64)
		if err != nil {
			return 0, errors.New("malformed number")
		}
		n += ns
	}
	return n, nil
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
