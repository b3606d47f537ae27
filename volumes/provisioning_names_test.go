package volumes_test

import (
	"strings"
	"testing"

	"github.com/replicad/replicad/volumes"
)

// A refused name names the character as the user typed it, not the first
// byte of its UTF-8 form; a byte that is not UTF-8 is named as a byte.
func TestCheckNameReportsCharacters(t *testing.T) {
	for name, want := range map[string]string{
		"grüße":  "character 'ü' not allowed",
		"disk😀":  "character '😀' not allowed",
		"a\xffb": "byte 0xff not allowed",
	} {
		err := volumes.CheckName(name)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "Ã") {
			t.Errorf("CheckName(%q) = %v, want %q", name, err, want)
		}
	}
}
