// Package speexdsp wraps the echo canceller of the speexdsp library (its
// MDF filter and, optionally, its preprocessor's residual echo
// suppression) for side-by-side measurements with package aec. It is
// built only with the speexdsp build tag (cgo and libspeexdsp-dev, from
// `make deps`); without the tag the package is empty. Nothing in Hark's
// product uses it.
package speexdsp
