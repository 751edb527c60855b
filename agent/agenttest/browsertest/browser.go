package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/harkvoice/hark/agent/agenttest"
)

// Path is Debian's Chromium binary; the /usr/bin/chromium wrapper would add
// flags of its own.
const Path = "/usr/lib/chromium/chromium"

// Options describe the browser a test wants.
type Options struct {
	// Mic is a WAV file the browser uses as its microphone; Chromium loops
	// it unless NoLoop is set.
	Mic    string
	NoLoop bool
	// Hosts are resolvable besides 127.0.0.1 (addresses in a network
	// namespace the test made).
	Hosts []string
	// Width and Height of the window, 1200×800 when zero.
	Width, Height int
}

// Start launches Chromium and returns a context for chromedp on its first
// tab, already running, and the browser's output. The browser ends with the
// test. Without Chromium the test is skipped, or fails when the CI
// environment variable is set (CI installs it).
func Start(t testing.TB, o Options) (context.Context, *agenttest.Logs) {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium is not installed: %v", err)
		}
		t.Skipf("Chromium is not installed (%v); `make deps` installs it", err)
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 1200, 800
	}
	rules := "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
	for _, h := range o.Hosts {
		rules += ", EXCLUDE " + h
	}
	logs := &agenttest.Logs{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		// Host candidates as addresses, not mDNS names nothing here resolves.
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("host-resolver-rules", rules),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.CombinedOutput(logs),
	}
	if o.Mic != "" {
		mic := o.Mic
		if o.NoLoop {
			mic += "%noloop"
		}
		opts = append(opts, chromedp.Flag("use-file-for-fake-audio-capture", mic))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first Run starts the browser.
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v\n%s", err, logs)
	}
	return browser, logs
}
