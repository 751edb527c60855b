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
// Transcribe normalises each utterance by its own cepstral mean rather than
// by PocketSphinx's live estimate, which starts from the model's training
// mean and adapts over several utterances: with it the first utterance of a
// decoder was recognised worse than later ones, one user's voice shaped the
// next user's results, and real recordings came out at 71 % word error
// rate (29 % now). Streams still use the live estimate (an utterance's
// mean is not known while it is being spoken).
//
// The installed acoustic model is wideband, and no narrowband (8 kHz)
// model is packaged. Telephone audio — 8 kHz input, or 16 kHz audio with
// nothing above 4.6 kHz, as a phone call resampled by a session is — leaves
// the model's filters above 4 kHz empty; decoded as it is, real telephone
// prompts came out at 84 % word error rate. Such audio is decoded from its
// cepstra through an affine map, reading two frames on each side, that
// predicts the cepstra of the same speech recorded wideband. The map was
// fitted by least squares on synthetic speech in four voices passed through
// an 8 kHz μ-law line (go test -run TestPhoneBandMap -update refits it)
// and brings real telephone prompts it never saw to about 55 %.
// BenchmarkWER measures word
// error rates on synthetic voices and on real recordings (`make deps`
// fetches them).
//
// Without cgo the package builds, but New returns ErrUnavailable.
package sphinx
