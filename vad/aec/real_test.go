package aec_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/harkvoice/hark/vad/aec"
	"github.com/harkvoice/hark/vad/aec/aectest"
)

// A real human voice as the user (a recording in $HARK_CACHE/speech, when
// one is there): softer starts, breath and the voice's own variety, where
// synthetic voices are too regular to trust alone.
func TestRealVoice(t *testing.T) {
	dir := os.Getenv("HARK_CACHE")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skip(err)
		}
		dir = filepath.Join(home, ".cache", "hark")
	}
	dir = filepath.Join(dir, "speech")
	const clip = "jfk.wav"
	if _, err := os.Stat(filepath.Join(dir, clip)); err != nil {
		t.Skipf("no real speech in %s: %v", dir, err)
	}
	user, err := aectest.LoadClips(dir, 16000, clip)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := aectest.LoadClips(speechDir, 16000, aectest.FarClips...)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := aectest.Specs[0].Build(16000, agent, user[0].Split(2500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for _, sup := range []bool{false, true} {
		c, err := aec.New(16000, aec.WithSuppressor(sup))
		if err != nil {
			t.Fatal(err)
		}
		r := run(t, c, sc)
		t.Logf("real voice, suppressor %v: ERLE %.1f dB (after double talk %.1f), near-end loss %.2f / %.2f dB",
			sup, r.ERLE, r.ERLEAfterDouble, r.NearLossSingle, r.NearLossDouble)
		if r.NearLossSingle > 1 || r.NearLossDouble > 3 {
			t.Errorf("suppressor %v: near-end loss %.2f dB single, %.2f dB double talk", sup, r.NearLossSingle, r.NearLossDouble)
		}
		if r.ERLEAfterDouble < 14 {
			t.Errorf("suppressor %v: ERLE after double talk %.1f dB", sup, r.ERLEAfterDouble)
		}
	}
}
