//go:build !amd64 || purego

package resample

// dot returns the dot product of a and b[:len(a)] (len(a) a multiple of 4).
func dot(a, b []float32) float32 { return dotGo(a, b) }
