//go:build !amd64 || purego

package silero

// haveSIMD is false: no vector kernels in this build.
const haveSIMD = false

// matVecSIMD is never called in this build (haveSIMD is false); it keeps
// the dispatch in Model.matVec portable.
func matVecSIMD(y, w, x []float32, k, ws int) { matVecGo(y, w, x, k, ws) }
