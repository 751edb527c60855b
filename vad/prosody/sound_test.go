package prosody

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

// TestJudgeClips: the scenario clips' laughs, hums and sighs are judged
// non-lexical; short words (stop words among them) never are.
func TestJudgeClips(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "scenarios", "clips")
	for _, tc := range []struct {
		clip string
		want Sound // SoundUndecided: anything but a non-lexical sound
	}{
		{"laugh_low.wav", SoundLaughter}, {"laugh_high.wav", SoundLaughter},
		{"laugh_giggle.wav", SoundLaughter}, {"laugh_chuckle.wav", SoundLaughter},
		{"laugh_ho.wav", SoundLaughter}, {"laugh_hearty.wav", SoundLaughter},
		{"hum_tune.wav", SoundHumming}, {"hum_hmm.wav", SoundHumming}, {"hum_high.wav", SoundHumming},
		{"sigh_long.wav", SoundBreath},
		{"stop.wav", SoundUndecided}, {"wait.wav", SoundUndecided}, {"okay.wav", SoundUndecided},
		{"uhhuh.wav", SoundUndecided}, {"phone_stop.wav", SoundUndecided}, {"phone_wait.wav", SoundUndecided},
		{"phone_okay.wav", SoundUndecided}, {"phone_yeah.wav", SoundUndecided}, {"phone_right.wav", SoundUndecided},
	} {
		t.Run(tc.clip, func(t *testing.T) {
			fr, err := wav.ReadFile(filepath.Join(dir, tc.clip))
			if err != nil {
				t.Fatal(err)
			}
			if fr, err = resample.Frame(fr, pcm.Mono16k); err != nil {
				t.Fatal(err)
			}
			j, err := NewJudge(16000)
			if err != nil {
				t.Fatal(err)
			}
			// seen is the non-lexical verdict given, if any (a long
			// laugh may turn lexical at its end, which a listener acts
			// on by pausing again).
			var seen Sound
			for i := 0; i+320 <= len(fr.Samples); i += 320 {
				if s := j.Write(fr.Samples[i : i+320]); s.NonLexical() {
					seen = s
				}
			}
			switch {
			case tc.want == SoundUndecided && seen.NonLexical():
				t.Errorf("a word judged %v", seen)
			case tc.want != SoundUndecided && seen != tc.want:
				t.Errorf("judged %v, want %v", seen, tc.want)
			}
		})
	}
}

func TestJudgeRate(t *testing.T) {
	if _, err := NewJudge(11025); err == nil {
		t.Error("NewJudge(11025): no error")
	}
}

func BenchmarkJudge(b *testing.B) {
	s := voice(150, 0.3, time.Second, 16000)
	j, _ := NewJudge(16000)
	for b.Loop() {
		j.Reset()
		for i := 0; i+320 <= len(s); i += 320 {
			j.Write(s[i : i+320])
		}
	}
}
