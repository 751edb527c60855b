// Package aec is an acoustic echo canceller in pure Go: it removes from the
// microphone signal the agent's own voice coming back through the user's
// loudspeaker, room and transport, given the audio the agent played.
//
// # Formats and calls
//
// Mono signed 16-bit PCM at 8 or 16 kHz; the reference (what the agent
// played) at the same rate as the microphone. A Canceller serves one
// stream:
//
//   - Play(pos, samples) records reference audio as the playout sends it,
//     keyed by its sample position on the playout clock. Positions never
//     played (pauses, flushed audio that was not sent) are silence, so the
//     reference is exactly what went out, and the transport's delay and
//     jitter are part of the echo path. Play may run on the playout's
//     goroutine, concurrently with Process. Call it as frames are sent, not
//     ahead of time: the canceller keeps the reference for its delay range,
//     its filter and half a second more.
//   - Process(dst, mic) takes microphone audio in whole frames (10 ms by
//     default; WithFrame) and appends as many cancelled samples to dst,
//     Latency behind: 14 ms for 10 ms frames at either rate (one 8 ms block
//     for the suppressor's overlap, plus what frames and blocks leave over).
//     The k-th microphone sample processed shares position k with the
//     playout clock of Play: start both clocks together; the echo delay
//     between them is found (0 to 1 s by default; WithDelayRange).
//   - Stats reports the ERLE (echo return loss enhancement) of the filter
//     and after the suppressor, the delay found, and who is talking.
//
// # How it works
//
// The adaptive filter is a partitioned-block frequency-domain filter of the
// MDF family (overlap-save, 8 ms blocks, a 256-point FFT at 16 kHz,
// 32 partitions for 256 ms of room by default; WithFilterLength). Its step
// size per partition and frequency bin comes from a diagonal Kalman model:
// each bin keeps the variance of its filter error, and the gain weighs it
// against the power the error holds beyond the residual echo expected, so
// the user talking over the agent makes the step small exactly in the bins
// their voice occupies, and the filter does not diverge or learn their
// words. The error variances start from the echo coupling measured on the
// first blocks and are capped by it; they start over from a coupling that
// has grown since while the filter still cancels little (a late echo
// reaches the microphone after those first blocks), and the filter
// re-learns when the echo no longer matches it.
//
// A delay estimator correlates log band energies of the reference and the
// microphone, and their changes from block to block, over a second of
// lags, and places the filter a block or two before the echo, so a long
// transport delay does not use up partitions. The changes mark the echo's
// onset, where a reverberant tail would pull the levels' peak later; the
// estimator decides only once the microphone has heard something for a
// while. Once the filter has converged, its own impulse response aligns
// it to the block. When the transport's jitter buffer moves the echo, the
// estimate moves and the filter follows.
//
// The residual echo suppressor applies a gain per bin on a short-time
// spectrum (square-root Hann windows, 50 % overlap): a decision-directed
// Wiener gain against the residual echo, estimated as the echo estimate's
// power times a leakage measured by regression (the user's voice adds
// scatter but no slope), the residual the filter's error variances
// predict while it converges, or the share of the output that stays
// coherent with the echo estimate over the last 40 ms or so (a burst the
// filter cancels little of, after the echo path changed or where the
// agent's voice reaches bins the filter has not learnt yet). Bins the
// user's voice dominates keep a gain near one.
//
// A double-talk detector (far end, near end, both, neither, with
// hangovers) gates the ERLE figures, which are measured only on echo
// without the user.
//
// # Cost
//
// About 23 µs of one core per 10 ms at 16 kHz with the AVX2+FMA kernels
// (amd64), about 49 µs with the portable Go kernels (other architectures,
// or the purego build tag); no allocations per frame; about 210 KB per
// stream. Package aectest builds the synthetic rooms the tests and
// examples/bench measure it on.
package aec
