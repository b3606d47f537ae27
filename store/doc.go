// Package store owns replicad's state database (state.db, a bbolt file): it opens it
// under a file lock, runs ordered migrations and hands out transactions.
// It knows nothing of volumes, jobs or replicas: domain packages keep their own
// buckets and record encodings and receive a *DB in their constructors.
//
// # Records
//
// Records are JSON documents stored under string keys in named buckets. A domain
// package writes versioned structs; unknown fields are ignored on read, so a
// newer daemon can read an older record.
//
// # Concurrency
//
// One writer and many readers, as in bbolt: Update runs one read-write
// transaction at a time, View any number of read-only ones. Never hold a
// transaction across image I/O.
package store
