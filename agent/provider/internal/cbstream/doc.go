// Package cbstream carries audio from a C synthesis engine's callback to a
// Go iterator: the engines (eSpeak NG, Flite) call back on the goroutine
// that runs them, under a global engine lock, and must never block there,
// while the consumer may be slow or stop at any time.
package cbstream
