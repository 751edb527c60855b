// Package resample converts 16-bit PCM between sample rates (4, 8, 11.025,
// 12, 16, 22.05, 24, 32, 44.1 and 48 kHz) and channel layouts, in pure Go.
//
// A Resampler is a streaming polyphase windowed-sinc filter for one mono
// stream: it carries its history and output phase across calls, so frames of
// any size join without clicks at their borders. The low-pass prototype is a
// Kaiser-windowed sinc whose stop band starts at the Nyquist frequency of the
// lower rate; it rejects aliases and images by at least 60 dB and adds under
// 3 ms of delay (5.5 ms to or from 4 kHz; Resampler.Delay reports it). Filter tables are built once per
// rate pair and shared by every resampler, so a stream costs only its history
// (a few hundred samples). On amd64 CPUs with AVX2 and FMA the filter's dot
// products run in assembly; the portable Go kernel is used elsewhere and with
// the purego build tag.
//
// A Converter wraps resamplers for frames in any pcm.Format, mixing stereo to
// mono or mono to stereo, and starts afresh when its input format changes.
// Frame converts a whole clip with the delay compensated.
package resample
