package engine

// SetWriteHook replaces target writes of o with fn, for fault injection.
func SetWriteHook(o *Options, fn func(p []byte, off int64) error) {
	if o.hooks == nil {
		o.hooks = &hooks{}
	}
	o.hooks.writeAt = fn
}

// SetAfterChunk makes o call fn after each chunk is written.
func SetAfterChunk(o *Options, fn func(off int64)) {
	if o.hooks == nil {
		o.hooks = &hooks{}
	}
	o.hooks.afterChunk = fn
}
