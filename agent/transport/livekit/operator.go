package livekit

import (
	_ "embed"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

//go:embed operator/index.html
var operatorPage []byte

// ClientPath returns where `make deps` puts LiveKit's JavaScript client
// (the browser bundle of the npm package livekit-client):
// $HARK_CACHE/npm/livekit-client/livekit-client.umd.js, HARK_CACHE
// defaulting to ~/.cache/hark.
func ClientPath() (string, error) {
	dir := os.Getenv("HARK_CACHE")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoClient, err)
		}
		dir = filepath.Join(home, ".cache", "hark")
	}
	p := filepath.Join(dir, "npm", "livekit-client", "livekit-client.umd.js")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoClient, err)
	}
	return p, nil
}

// OperatorHandler serves the operator page: a person a call was handed to
// opens the PageURL of its Handoff (WithOperatorPage names where this
// handler is mounted), presses Join, and enters the room with microphone
// and camera; the page shows the hand-off summary, the caller's video if
// any, and plays the caller's audio. The page is "/" (its fragment carries
// the server URL and the token) and loads LiveKit's JavaScript client from
// "/livekit-client.js", read from ClientPath. Browsers allow the camera and
// microphone only on https:// or http://localhost pages.
func OperatorHandler() (http.Handler, error) {
	js, err := ClientPath()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(operatorPage)
	})
	mux.HandleFunc("GET /livekit-client.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeFile(w, r, js)
	})
	return mux, nil
}
