package cimmodel

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/replicad/replicad/soap"
)

// formatScalar writes a scalar of type t (not a reference or an instance) as
// XML text: integers in decimal, reals in Go's shortest form (with "INF",
// "-INF" and "NaN" as in XML Schema), booleans "true"/"false", datetimes as
// xs:dateTime or xs:duration.
func formatScalar(t Type, x any) (string, error) {
	switch x := x.(type) {
	case uint8:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case int8:
		return strconv.FormatInt(int64(x), 10), nil
	case int16:
		return strconv.FormatInt(int64(x), 10), nil
	case int32:
		if t == TypeChar16 {
			return string(rune(x)), nil
		}
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float32:
		return formatFloat(float64(x), 32), nil
	case float64:
		return formatFloat(x, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case string:
		return x, nil
	case Datetime:
		return formatDatetime(x), nil
	}
	return "", fmt.Errorf("cannot write %T as %s text", x, t)
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// parseScalar parses XML text as a scalar of type t (not a reference or an
// instance). Surrounding white space is ignored except for strings and
// char16.
func parseScalar(t Type, s string) (any, error) {
	if t != TypeString && t != TypeChar16 {
		s = strings.TrimSpace(s)
	}
	switch t {
	case TypeUint8, TypeUint16, TypeUint32, TypeUint64:
		n, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, t.bits())
		if err != nil {
			return nil, numError(t, s, err)
		}
		switch t {
		case TypeUint8:
			return uint8(n), nil
		case TypeUint16:
			return uint16(n), nil
		case TypeUint32:
			return uint32(n), nil
		}
		return n, nil
	case TypeSint8, TypeSint16, TypeSint32, TypeSint64:
		n, err := strconv.ParseInt(s, 10, t.bits())
		if err != nil {
			return nil, numError(t, s, err)
		}
		switch t {
		case TypeSint8:
			return int8(n), nil
		case TypeSint16:
			return int16(n), nil
		case TypeSint32:
			return int32(n), nil
		}
		return n, nil
	case TypeReal32, TypeReal64:
		var f float64
		switch s {
		case "INF", "+INF":
			f = math.Inf(1)
		case "-INF":
			f = math.Inf(-1)
		case "NaN":
			f = math.NaN()
		default:
			if s == "" || strings.ContainsAny(s, "xXpP_") || strings.EqualFold(strings.TrimLeft(s, "+-"), "inf") ||
				strings.EqualFold(strings.TrimLeft(s, "+-"), "infinity") || strings.EqualFold(s, "nan") {
				return nil, fmt.Errorf("%q is not a %s", s, t)
			}
			var err error
			f, err = strconv.ParseFloat(s, t.bits())
			if err != nil {
				return nil, numError(t, s, err)
			}
		}
		if t == TypeReal32 {
			return float32(f), nil
		}
		return f, nil
	case TypeBoolean:
		switch s {
		case "true", "1", "TRUE", "True":
			return true, nil
		case "false", "0", "FALSE", "False":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean", s)
	case TypeChar16:
		if utf8.RuneCountInString(s) != 1 {
			return nil, fmt.Errorf("%q is not a single char16", s)
		}
		r, _ := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError || r > 0xFFFF {
			return nil, fmt.Errorf("%q is not a char16", s)
		}
		return int32(r), nil
	case TypeString:
		return s, nil
	case TypeDatetime:
		d, err := parseDatetimeText(s)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("type %s has no text form", t)
}

func numError(t Type, s string, err error) error {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%q is out of range for %s", s, t)
	}
	return fmt.Errorf("%q is not a %s", s, t)
}

// xsDateTimeLayout is the xs:dateTime form written for cim:Datetime.
const xsDateTimeLayout = "2006-01-02T15:04:05.999999999Z07:00"

func formatDatetime(d Datetime) string {
	if d.IsInterval {
		return formatDuration(d.Interval)
	}
	return d.Time.Format(xsDateTimeLayout)
}

// parseDatetimeText accepts an xs:dateTime, an xs:duration (interval), an
// xs:date, or a DSP0004 datetime string ("yyyymmddhhmmss.mmmmmmsutc" or the
// interval form "ddddddddhhmmss.mmmmmm:000").
func parseDatetimeText(s string) (Datetime, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "P") || strings.HasPrefix(s, "-P"):
		d, err := soap.ParseDuration(s)
		if err != nil {
			return Datetime{}, fmt.Errorf("interval: %w", err)
		}
		return Datetime{Interval: d, IsInterval: true}, nil
	case len(s) == 25 && (s[21] == '+' || s[21] == '-' || s[21] == ':') && s[14] == '.':
		return parseCIMDatetime(s)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return Datetime{Time: t}, nil
		}
	}
	return Datetime{}, fmt.Errorf("%q is not a datetime", s)
}

// parseCIMDatetime parses the DSP0004 §5.2.4 string form.
func parseCIMDatetime(s string) (Datetime, error) {
	bad := fmt.Errorf("%q is not a CIM datetime", s)
	num := func(from, to int) (int, bool) {
		n, err := strconv.Atoi(s[from:to])
		return n, err == nil && s[from] != '+' && s[from] != '-'
	}
	if s[21] == ':' {
		days, ok1 := num(0, 8)
		h, ok2 := num(8, 10)
		m, ok3 := num(10, 12)
		sec, ok4 := num(12, 14)
		us, ok5 := num(15, 21)
		if !(ok1 && ok2 && ok3 && ok4 && ok5) || s[22:] != "000" {
			return Datetime{}, bad
		}
		d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
			time.Duration(sec)*time.Second + time.Duration(us)*time.Microsecond
		return Datetime{Interval: d, IsInterval: true}, nil
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(4, 6)
	dd, ok3 := num(6, 8)
	h, ok4 := num(8, 10)
	mi, ok5 := num(10, 12)
	sec, ok6 := num(12, 14)
	us, ok7 := num(15, 21)
	off, ok8 := num(22, 25)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) || mo < 1 || mo > 12 || dd < 1 || dd > 31 ||
		h > 23 || mi > 59 || sec > 60 {
		return Datetime{}, bad
	}
	if s[21] == '-' {
		off = -off
	}
	loc := time.UTC
	if off != 0 {
		loc = time.FixedZone("", off*60)
	}
	return Datetime{Time: time.Date(y, time.Month(mo), dd, h, mi, sec, us*1000, loc)}, nil
}

// formatDuration writes d as an xs:duration in the form Windows writes for
// cim:Interval, days, hours, minutes and seconds always present:
// "P0DT0H1M40S", "P1DT2H3M4.5S".
func formatDuration(d time.Duration) string {
	var b strings.Builder
	u := uint64(d)
	if d < 0 {
		b.WriteByte('-')
		u = uint64(-(d + 1)) + 1
	}
	const day = uint64(24 * time.Hour)
	days := u / day
	u %= day
	h := u / uint64(time.Hour)
	u %= uint64(time.Hour)
	m := u / uint64(time.Minute)
	u %= uint64(time.Minute)
	sec := u / uint64(time.Second)
	frac := u % uint64(time.Second)
	fmt.Fprintf(&b, "P%dDT%dH%dM%d", days, h, m, sec)
	if frac > 0 {
		b.WriteString("." + strings.TrimRight(fmt.Sprintf("%09d", frac), "0"))
	}
	b.WriteByte('S')
	return b.String()
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
