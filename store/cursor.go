package store

import (
	"errors"
	"strings"
)

// ErrStop, returned by the function given to ForEachAfter or ForEachPrefix,
// ends the walk early; the walk then returns nil.
var ErrStop = errors.New("store: stop")

// ForEachAfter calls fn for every record of bucket whose key is greater than
// after (byte order; "" starts at the first), in key order, until fn
// returns an error. Only the records visited are read, so a caller that
// stops after n records pays for n, not for the bucket.
func (t *Tx) ForEachAfter(bucket, after string, fn func(key string, raw []byte) error) error {
	b, err := t.bucket(bucket)
	if err != nil || b == nil {
		return err
	}
	c := b.Cursor()
	k, v := c.Seek([]byte(after))
	if k != nil && string(k) == after {
		k, v = c.Next()
	}
	for ; k != nil; k, v = c.Next() {
		if err := fn(string(k), v); errors.Is(err, ErrStop) {
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}

// ForEachPrefix calls fn for every record of bucket whose key starts with
// prefix, in key order, until fn returns an error; it reads only those
// records (a secondary index keyed "group/member" is walked this way).
func (t *Tx) ForEachPrefix(bucket, prefix string, fn func(key string, raw []byte) error) error {
	b, err := t.bucket(bucket)
	if err != nil || b == nil {
		return err
	}
	c := b.Cursor()
	for k, v := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
		if err := fn(string(k), v); errors.Is(err, ErrStop) {
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}
