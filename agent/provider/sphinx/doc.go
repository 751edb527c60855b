// Package sphinx recognises English speech offline with CMU PocketSphinx
// (the Debian packages pocketsphinx, pocketsphinx-en-us and
// libpocketsphinx-dev), through cgo.
//
// A Recognizer implements pipeline.STT, decoding one whole utterance per
// Transcribe call, and pipeline.StreamingSTT, decoding while the user speaks
// (partial results as the words come, the final one as soon as the audio
// ends). It works at 16 kHz mono and converts other formats; a pool of
// decoders lets concurrent sessions recognise at the same time. WithVocabulary biases recognition
// towards an application's phrases by interpolating a small bigram model
// built from them with the general US English model, so that in-domain words
// ("order", "refund") win over acoustically close ones ("ardor") while other
// speech is still recognised.
//
// Without cgo the package builds, but New returns ErrUnavailable.
package sphinx
