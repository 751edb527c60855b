// Package aectest builds synthetic echo scenes for testing and measuring
// acoustic echo cancellers, and measures how a canceller did.
//
// Rooms come from the image method (Room.ImpulseResponse: a shoebox room,
// reflection coefficients from the reverberation time, corrected once so
// the response's measured RT60 matches). A scene (Build, or a Spec of the
// standard set Specs) plays the far end (the agent's voice) through the
// loudspeaker's room response after a transport delay, the near end (the
// user's voice) through the response from the user's place, adds pink
// noise, and keeps every part apart. Measure compares a canceller's output
// with the parts: ERLE on echo without the user, convergence time, and
// near-end speech loss (the output's projection on the user's voice) in
// single and double talk.
//
// Subpackage speexdsp wraps the speexdsp library's echo canceller behind
// the speexdsp build tag, for side-by-side measurements.
package aectest
