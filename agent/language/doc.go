// Package language checks the language tags that reach a session from
// outside (a device's hello, a page's ?lang=, configuration) before they
// reach a prompt or a voice choice.
//
// A tag Hark accepts is a BCP 47 language tag of the common shape: a known
// language subtag (the ISO 639-1 two-letter codes and a few three-letter
// ISO 639 codes of languages without one, such as "yue" or "fil"), then
// optionally a script (four letters, "Hant") and a region (two letters or
// three digits, "BR", "419"). Variants, extensions and private use are
// refused, so a tag is at most 12 characters of letters, digits and
// hyphens: nothing a prompt could mistake for an instruction.
package language
