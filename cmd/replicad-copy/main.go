// Command replicad-copy copies a sparse image with the replicad copy engine, or
// catches a mirror up with Resync. It exists for benchmarks and manual checks:
//
//	replicad-copy [flags] SRC DST
//	replicad-copy -resync [-dirty MAP.json] [-sidecar FILE] SRC DST
//
// It prints the engine's Stats as JSON on stderr.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"

	"github.com/replicad/replicad/replica/engine"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "replicad-copy:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("replicad-copy", flag.ContinueOnError)
	def := engine.DefaultOptions()
	chunk := fs.Int64("chunk", def.ChunkSize, "bytes per I/O")
	workers := fs.Int("workers", def.Workers, "chunks read at once")
	zeros := fs.Bool("zeros", def.DetectZeros, "turn all-zero blocks inside data into holes")
	method := fs.String("method", "auto", "auto, reflink, copy_file_range or readwrite")
	bw := fs.Int64("bwlimit", 0, "bytes per second, 0 = unlimited")
	pageCache := fs.Bool("pagecache", false, "read and write through the page cache (both sides)")
	readIO := fs.String("read", "auto", "source reads: auto (O_DIRECT where supported), direct or pagecache")
	behind := fs.Int64("writebehind", def.WriteBehind, "page-cache target: start writeback after this many finished bytes (negative: leave it to the kernel)")
	writeIO := fs.String("write", "auto", "target writes: auto (O_DIRECT where supported), direct or pagecache (with write-behind)")
	resync := fs.Bool("resync", false, "catch an existing DST up with SRC instead of copying")
	dirty := fs.String("dirty", "", "resync: JSON DirtyMap of changed blocks")
	sidecar := fs.String("sidecar", "", "resync: per-block hash sidecar file")
	block := fs.Int64("block", engine.DefaultResyncBlockSize, "resync: block size")
	every := fs.Int64("checkpoint", 0, "record a checkpoint in DST.checkpoint (written and fdatasync'ed, as a job's store commit) every this many data bytes; 0: none")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the copy here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("usage: replicad-copy [flags] SRC DST")
	}
	m, err := engine.ParseMethod(*method)
	if err != nil {
		return err
	}
	opts := def
	opts.ChunkSize, opts.Workers, opts.DetectZeros, opts.Method, opts.BandwidthLimit = *chunk, *workers, *zeros, m, *bw
	opts.PageCache, opts.WriteBehind = *pageCache, *behind
	if opts.ReadIO, err = engine.ParseIOPath(*readIO); err != nil {
		return err
	}
	if opts.WriteIO, err = engine.ParseIOPath(*writeIO); err != nil {
		return err
	}

	if *every > 0 {
		opts.CheckpointEvery = *every
		opts.Checkpoint = func(cp engine.Checkpoint) error { return record(fs.Arg(1)+".checkpoint", cp) }
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var st engine.Stats
	if *resync {
		ro := engine.ResyncOptions{Options: opts, BlockSize: *block, HashSidecar: *sidecar}
		if *dirty != "" {
			b, err := os.ReadFile(*dirty)
			if err != nil {
				return err
			}
			ro.Dirty = new(engine.DirtyMap)
			if err := json.Unmarshal(b, ro.Dirty); err != nil {
				return fmt.Errorf("dirty map %s: %w", *dirty, err)
			}
		}
		st, err = engine.Resync(ctx, fs.Arg(0), fs.Arg(1), ro)
	} else {
		st, err = engine.Copy(ctx, fs.Arg(0), fs.Arg(1), opts)
	}
	if err != nil {
		return err
	}
	out := struct {
		engine.Stats
		Method          string
		ReadIO, WriteIO string
	}{st, st.Method.String(), st.ReadIO.String(), st.WriteIO.String()}
	return json.NewEncoder(os.Stderr).Encode(out)
}

// record writes cp to path and makes it durable, as a copy job's store
// commit of its checkpoint would.
func record(path string, cp engine.Checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Sync()
}
