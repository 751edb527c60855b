//go:build cgo

package sphinx

import "context"

// Cepstra returns the cepstra of 16 kHz samples, 13 values a frame.
func Cepstra(r *Recognizer, samples []int16) ([]float32, error) {
	d, err := r.acquire(context.Background())
	if err != nil {
		return nil, err
	}
	defer r.release(d)
	return d.cepstra(samples)
}

// ApplyPhoneMap maps cepstra with the telephone-band map.
func ApplyPhoneMap(cep []float32) []float32 { return phoneMap.apply(nil, cep) }

// DecodeCepstra decodes one utterance given as cepstra (13 values a frame)
// and returns its final hypothesis.
func DecodeCepstra(r *Recognizer, cep []float32) (string, error) {
	d, err := r.acquire(context.Background())
	if err != nil {
		return "", err
	}
	defer r.release(d)
	if err := d.decodeCepstra(context.Background(), cep); err != nil {
		return "", err
	}
	return finalHypothesis(d.ps), nil
}
