// Package wav reads and writes 16-bit PCM WAV files (RIFF/WAVE), mono or
// stereo, at any sample rate.
//
// Read accepts plain PCM (format tag 1) and WAVE_FORMAT_EXTENSIBLE with the
// PCM sub-format, skips chunks it does not know (honouring the pad byte after
// odd-sized chunks) and rejects everything else with an error that wraps
// ErrMalformed (the bytes are not a valid WAV file) or ErrUnsupported (a valid
// file in an encoding Hark does not handle, such as 24-bit or float samples).
// Write always produces the canonical 44-byte header followed by the samples.
package wav
