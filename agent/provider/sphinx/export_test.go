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
