// Package browsertest starts a real headless Chromium for the tests that
// drive a web page: Debian's binary, called directly, with a fake camera
// and a WAV file as its microphone, WebRTC allowed on loopback, and every
// name lookup failing but for 127.0.0.1 and the hosts a test names, so a
// page can reach nothing else. The browser's output is kept for the test's
// failure message.
package browsertest
