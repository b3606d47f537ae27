package provider

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/volumes"
)

// volumesSentinels returns the text of every exported Err* variable
// declared with errors.New in the volumes package's source, by name.
func volumesSentinels(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "volumes", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range spec.Names {
				if !strings.HasPrefix(id.Name, "Err") || i >= len(spec.Values) {
					continue
				}
				call, ok := spec.Values[i].(*ast.CallExpr)
				if !ok || len(call.Args) != 1 {
					continue
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok {
					continue
				}
				text, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out[id.Name] = text
			}
			return true
		})
	}
	if len(out) < 10 {
		t.Fatalf("found %d volumes sentinels, want the dozen or so declared (parser out of date?)", len(out))
	}
	return out
}

// TestEveryVolumesErrorHasARow fails when volumes gains an Err* sentinel
// that domainErrors does not map.
func TestEveryVolumesErrorHasARow(t *testing.T) {
	for name, text := range volumesSentinels(t) {
		t.Run(name, func(t *testing.T) {
			for _, r := range domainErrors {
				if r.err.Error() == text {
					return
				}
			}
			t.Errorf("volumes.%s (%q) has no row in domainErrors", name, text)
		})
	}
}

func TestStorageReturnCode(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantCode   uint32
		wantStatus cimmodel.Status
	}{
		{"nil", nil, 0, 0},
		{"invalid name, wrapped", fmt.Errorf("create: %w", volumes.ErrInvalidName), 5, cimmodel.StatusInvalidParameter},
		{"invalid size", volumes.ErrInvalidSize, 4097, cimmodel.StatusInvalidParameter},
		{"no space", volumes.ErrNoSpace, 40000, cimmodel.StatusFailed},
		{"over-commit limit", &volumes.SpaceError{Err: volumes.ErrOverCommit}, 4097, cimmodel.StatusFailed},
		{"exists", volumes.ErrExists, 5, cimmodel.StatusAlreadyExists},
		{"not found", volumes.ErrNotFound, 5, cimmodel.StatusNotFound},
		{"lease conflict", &volumes.InUseError{ID: "x", Purpose: "replication"}, 6, cimmodel.StatusFailed},
		{"replication member", fmt.Errorf("delete: %w", errReplicationMember), 32768, cimmodel.StatusFailed},
		{"unknown error", errors.New("disk on fire"), 4, cimmodel.StatusFailed},
		{"context", context.Canceled, 4, cimmodel.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := storageReturnCode(tt.err); got != tt.wantCode {
				t.Errorf("storageReturnCode = %d, want %d", got, tt.wantCode)
			}
			err := storageError(tt.err)
			if got := cimmodel.StatusOf(err); got != tt.wantStatus {
				t.Errorf("storageError status = %v, want %v", got, tt.wantStatus)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("storageError lost its cause: %v", err)
			}
		})
	}
	// A CIM error passes through unchanged.
	ce := cimmodel.Errorf(cimmodel.StatusNotSupported, "no")
	if got := storageError(ce); got != error(ce) {
		t.Errorf("storageError(%v) = %v, want it unchanged", ce, got)
	}
}
