// Command benchimg makes and changes test images for bench/copy.sh:
//
//	benchimg make -size 8G -alloc 0.5 [-zeroruns] [-seed N] FILE
//	benchimg mutate -frac 0.01 -block 65536 [-seed N] -dirty MAP.json FILE
//	benchimg cmp A B
//
// make writes a sparse image of the given apparent size in which a fraction alloc
// of the 1 MiB units holds random data (the rest are holes); with -zeroruns every
// unit is allocated and runs of 1-16 MiB alternate between random data and written
// zeros. mutate overwrites a fraction of the blocks of an existing image (random
// data, one in ten with zeros) and writes the engine's DirtyMap of them as JSON.
// cmp exits 1, naming the first differing MiB, when A and B differ in size or
// content: cmp(1) compares a byte at a time and took 12 s of CPU for 2 GiB,
// more than the copies it checks.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/replicad/replicad/replica/engine"
)

const unit = 1 << 20

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchimg make|mutate [flags] FILE | cmp A B")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "make":
		err = makeCmd(os.Args[2:])
	case "mutate":
		err = mutateCmd(os.Args[2:])
	case "cmp":
		err = cmpCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchimg:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func makeCmd(args []string) error {
	fs := flag.NewFlagSet("make", flag.ContinueOnError)
	sizeS := fs.String("size", "8G", "apparent size")
	alloc := fs.Float64("alloc", 0.5, "fraction of 1 MiB units holding data")
	zeroRuns := fs.Bool("zeroruns", false, "allocate everything, alternating data and zero runs")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	size, err := parseSize(*sizeS)
	if err != nil || fs.NArg() != 1 {
		return fmt.Errorf("usage: benchimg make -size 8G -alloc 0.5 FILE")
	}
	f, err := os.OpenFile(fs.Arg(0), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(*seed, 2))
	data := rand.NewChaCha8([32]byte{byte(*seed)})
	buf := make([]byte, unit)
	zeros := make([]byte, unit)
	runLeft, runData := int64(0), true
	for off := int64(0); off < size; off += unit {
		n := min(unit, size-off)
		var p []byte
		switch {
		case *zeroRuns:
			if runLeft == 0 {
				runLeft, runData = 1+rng.Int64N(16), !runData
			}
			runLeft--
			p = zeros[:n]
			if runData {
				data.Read(buf[:n])
				p = buf[:n]
			}
		case rng.Float64() < *alloc:
			data.Read(buf[:n])
			p = buf[:n]
		default:
			continue
		}
		if _, err := f.WriteAt(p, off); err != nil {
			return err
		}
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

func mutateCmd(args []string) error {
	fs := flag.NewFlagSet("mutate", flag.ContinueOnError)
	frac := fs.Float64("frac", 0.01, "fraction of blocks to change")
	block := fs.Int64("block", engine.DefaultResyncBlockSize, "block size")
	seed := fs.Uint64("seed", 1, "random seed")
	dirty := fs.String("dirty", "", "write the DirtyMap JSON here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: benchimg mutate -frac 0.01 -dirty MAP.json FILE")
	}
	f, err := os.OpenFile(fs.Arg(0), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	m := engine.NewDirtyMap(fi.Size(), *block)
	rng := rand.New(rand.NewPCG(*seed, 3))
	data := rand.NewChaCha8([32]byte{byte(*seed), 1})
	buf := make([]byte, *block)
	want := int64(float64(m.Len()) * *frac)
	for m.Count() < want {
		b := rng.Int64N(m.Len())
		if m.Test(b) {
			continue
		}
		if rng.IntN(10) == 0 {
			clear(buf)
		} else {
			data.Read(buf)
		}
		if _, err := f.WriteAt(buf, b**block); err != nil {
			return err
		}
		m.Set(b)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if *dirty != "" {
		j, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return os.WriteFile(*dirty, j, 0o644)
	}
	return nil
}

// cmpCmd compares two files a MiB at a time.
func cmpCmd(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: benchimg cmp A B")
	}
	a, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := os.Open(args[1])
	if err != nil {
		return err
	}
	defer b.Close()
	ai, err := a.Stat()
	if err != nil {
		return err
	}
	bi, err := b.Stat()
	if err != nil {
		return err
	}
	if ai.Size() != bi.Size() {
		return fmt.Errorf("%s is %d bytes, %s %d", args[0], ai.Size(), args[1], bi.Size())
	}
	pa, pb := make([]byte, unit), make([]byte, unit)
	for off := int64(0); off < ai.Size(); off += unit {
		n := int(min(unit, ai.Size()-off))
		if _, err := a.ReadAt(pa[:n], off); err != nil {
			return fmt.Errorf("read %s: %w", args[0], err)
		}
		if _, err := b.ReadAt(pb[:n], off); err != nil {
			return fmt.Errorf("read %s: %w", args[1], err)
		}
		if !bytes.Equal(pa[:n], pb[:n]) {
			return fmt.Errorf("%s and %s differ in the MiB at %d", args[0], args[1], off)
		}
	}
	return nil
}
