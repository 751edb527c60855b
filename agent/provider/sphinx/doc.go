// Package sphinx recognises English speech offline with CMU PocketSphinx
// (the Debian packages pocketsphinx, pocketsphinx-en-us and
// libpocketsphinx-dev), through cgo.
//
// A Recognizer implements pipeline.STT: it decodes one whole utterance per
// Transcribe call, 16 kHz mono, with a pool of decoders so that concurrent
// sessions do not wait for each other. WithVocabulary biases recognition
// towards an application's phrases by interpolating a small bigram model
// built from them with the general US English model, so that in-domain words
// ("order", "refund") win over acoustically close ones ("ardor") while other
// speech is still recognised.
//
// Without cgo the package builds, but New returns ErrUnavailable.
package sphinx
