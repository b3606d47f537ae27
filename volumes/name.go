package volumes

import (
	"fmt"
	"strings"
)

// MaxNameLen is the longest volume or pool name accepted, in bytes.
const MaxNameLen = 128

// imageExt is appended to a volume's name to form its file name.
const imageExt = ".img"

// reservedNames are device names Windows refuses as file names (with or
// without an extension); a name shown to Windows clients must not be one.
var reservedNames = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM0": true, "COM1": true, "COM2": true, "COM3": true, "COM4": true,
	"COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT0": true, "LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true,
	"LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
}

// CheckName reports whether name may name a volume or a pool. A valid name is
// 1..MaxNameLen bytes of ASCII letters, digits, '-', '_' and '.', does not
// start or end with '.', does not contain "..", and is not a Windows reserved
// device name (CON, NUL, COM1, ... compared case-insensitively, also before
// a '.'). Such a name never contains a path separator or NUL, so joined under
// a pool directory it stays there. The error wraps ErrInvalidName.
func CheckName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w: length %d not in 1..%d", ErrInvalidName, len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return fmt.Errorf("%w: %q: character %q not allowed", ErrInvalidName, name, c)
		}
	}
	if name[0] == '.' || name[len(name)-1] == '.' {
		return fmt.Errorf("%w: %q: must not start or end with '.'", ErrInvalidName, name)
	}
	if strings.Contains(name, "..") {
		return fmt.Errorf("%w: %q: must not contain \"..\"", ErrInvalidName, name)
	}
	stem, _, _ := strings.Cut(name, ".")
	if reservedNames[strings.ToUpper(stem)] {
		return fmt.Errorf("%w: %q is a reserved name", ErrInvalidName, name)
	}
	return nil
}

// fileName is the image file name of a volume called name.
func fileName(name string) string { return name + imageExt }

// deletingName is the hidden name a volume's file has while it is deleted.
func deletingName(name string) string { return "." + name + imageExt + ".deleting" }
