package aec

// WithPortableKernels makes a canceller use the portable Go kernels even
// where the vector kernels could run, so that tests cover both.
func WithPortableKernels() Option {
	return func(c *config) error {
		c.simd = false
		return nil
	}
}

// HaveSIMD reports whether this build and CPU run the vector kernels.
var HaveSIMD = haveSIMD
