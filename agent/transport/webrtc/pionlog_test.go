package webrtc

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestPionLogLevels(t *testing.T) {
	var buf bytes.Buffer
	f := slogFactory{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	l := f.NewLogger("ice")
	l.Tracef("trace %d", 1)
	l.Debug("debug")
	l.Infof("info %d", 2)
	l.Warnf("warn %d", 3)
	l.Errorf("failed %d", 4)
	l.Error("plain")
	got := buf.String()
	if strings.Count(got, "\n") != 2 || !strings.Contains(got, `level=ERROR msg="failed 4" pion=ice`) ||
		!strings.Contains(got, "msg=plain") {
		t.Errorf("at info level, only pion's errors should show:\n%s", got)
	}
}
