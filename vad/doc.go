// Package vad turns a stream of 16-bit mono samples into speech start and end
// events.
//
// A Model (Silero in vad/silero, an adaptive energy detector in vad/energy)
// scores fixed-size windows with a speech probability; a Detector runs the
// state machine on top: hysteresis between the activation and deactivation
// thresholds, a minimum speech time to confirm a start (never on the dying
// tail of a knock or a click), a minimum silence time to confirm an end, and
// pre-roll padding so the first syllable reaches STT.
// Events carry exact sample positions counted from the start of the stream.
package vad
