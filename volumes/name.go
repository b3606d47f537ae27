package volumes

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the longest volume or pool name accepted, in bytes.
const MaxNameLen = 128

// imageExt is appended to a volume's name to form its file name.
const imageExt = ".img"

// isReserved reports whether stem is a device name Windows refuses as a
// file name (with or without an extension); a name shown to Windows clients
// must not be one.
func isReserved(stem string) bool {
	switch u := strings.ToUpper(stem); u {
	case "CON", "PRN", "AUX", "NUL":
		return true
	default:
		return len(u) == 4 && (u[:3] == "COM" || u[:3] == "LPT") && u[3] >= '0' && u[3] <= '9'
	}
}

// CheckName reports whether name may name a volume or a pool. A valid name is
// 1..MaxNameLen bytes of ASCII letters, digits, '-', '_' and '.', does not
// start or end with '.', does not start with '-' (so that it is never taken
// for an option by a command it is passed to), does not contain "..", and is
// not a Windows reserved
// device name (CON, NUL, COM1, ... compared case-insensitively, also before
// a '.'). Such a name never contains a path separator or NUL, so joined under
// a pool directory it stays there. The error wraps ErrInvalidName.
func CheckName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w: length %d not in 1..%d", ErrInvalidName, len(name), MaxNameLen)
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		case c == utf8.RuneError:
			// Not UTF-8: name the byte.
			return fmt.Errorf("%w: %q: byte %#x not allowed", ErrInvalidName, name, name[i])
		default:
			// The character as the user typed it ('ü', not the 'Ã' of its first byte).
			return fmt.Errorf("%w: %q: character %q not allowed", ErrInvalidName, name, c)
		}
	}
	if name[0] == '.' || name[len(name)-1] == '.' {
		return fmt.Errorf("%w: %q: must not start or end with '.'", ErrInvalidName, name)
	}
	if name[0] == '-' {
		return fmt.Errorf("%w: %q: must not start with '-'", ErrInvalidName, name)
	}
	if strings.Contains(name, "..") {
		return fmt.Errorf("%w: %q: must not contain \"..\"", ErrInvalidName, name)
	}
	stem, _, _ := strings.Cut(name, ".")
	if isReserved(stem) {
		return fmt.Errorf("%w: %q is a reserved name", ErrInvalidName, name)
	}
	return nil
}

// fileName is the image file name of a volume called name.
func fileName(name string) string { return name + imageExt }

// deletingName is the hidden name a volume's file has while it is deleted.
func deletingName(name string) string { return "." + name + imageExt + ".deleting" }
