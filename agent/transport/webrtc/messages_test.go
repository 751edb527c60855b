package webrtc

import (
	"errors"
	"net"
	"strings"
	"testing"

	pion "github.com/pion/webrtc/v4"
)

func pionICEServer() pion.ICEServer { return pion.ICEServer{} }

func TestParseClientMessage(t *testing.T) {
	tests := []struct {
		in      string
		want    string // type, or "" for an error
		wantErr string
	}{
		{in: `{"type":"text","text":"hi"}`, want: "text"},
		{in: `{"type":"stop"}`, want: "stop"},
		{in: `{"type":"image","mime_type":"image/jpeg","data":"/9j/4AAQ"}`, want: "image"},
		{in: `{"type":"text"}`, wantErr: `"text" message without text`},
		{in: `{"type":"text","text":"` + strings.Repeat("é", 4001) + `"}`, wantErr: "text has 4001 characters; the limit is 4000"},
		{in: `{"type":"text","text":"` + strings.Repeat("é", 4000) + `"}`, want: "text"},
		{in: `{"type":"image","mime_type":"image/jpeg"}`, wantErr: `"image" message without data`},
		{in: `{"type":"image","mime_type":"text/html","data":"AAAA"}`, wantErr: `unsupported image type "text/html"`},
		{in: `{"type":"image","mime_type":"image/png","data":"not base64!"}`, wantErr: "not a JSON object"},
		{in: `{"text":"hi"}`, wantErr: `missing "type"`},
		{in: `{"type":"jump"}`, wantErr: `unknown message type "jump"`},
		{in: `stop`, wantErr: "not a JSON object"},
	}
	for _, tt := range tests {
		m, err := ParseClientMessage([]byte(tt.in))
		if tt.wantErr != "" {
			var me *MessageError
			if !errors.As(err, &me) || !errors.Is(err, ErrMessage) {
				t.Errorf("%s: error %v, want a MessageError", tt.in, err)
				continue
			}
			if got := me.Reason; len(got) < len(tt.wantErr) || got[:len(tt.wantErr)] != tt.wantErr {
				t.Errorf("%s: reason %q, want %q", tt.in, got, tt.wantErr)
			}
			continue
		}
		if err != nil || m.Type != tt.want {
			t.Errorf("%s: got %+v, %v", tt.in, m, err)
		}
	}
}

func FuzzParseClientMessage(f *testing.F) {
	f.Add([]byte(`{"type":"text","text":"hi"}`))
	f.Add([]byte(`{"type":"image","mime_type":"image/png","data":"AAAA"}`))
	f.Add([]byte(`{"type":"stop"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseClientMessage(data)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		switch m.Type {
		case "text":
			if m.Text == "" {
				t.Fatal("empty text accepted")
			}
		case "image":
			if len(m.Data) == 0 {
				t.Fatal("empty image accepted")
			}
		case "stop":
		default:
			t.Fatalf("type %q accepted", m.Type)
		}
	})
}

// scriptedPacketConn returns its datagrams in order, then fails.
type scriptedPacketConn struct {
	net.PacketConn
	from []net.Addr
}

func (c *scriptedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if len(c.from) == 0 {
		return 0, nil, net.ErrClosed
	}
	a := c.from[0]
	c.from = c.from[1:]
	return copy(p, "x"), a, nil
}

func (c *scriptedPacketConn) WriteTo(p []byte, _ net.Addr) (int, error) { return len(p), nil }

func TestLoopbackPacketConn(t *testing.T) {
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	lan := &net.UDPAddr{IP: net.IPv4(192, 168, 1, 7), Port: 5000}
	c := &loopbackPacketConn{PacketConn: &scriptedPacketConn{from: []net.Addr{lan, lan, lo}}}
	_, from, err := c.ReadFrom(make([]byte, 10))
	if err != nil || from != lo {
		t.Errorf("ReadFrom = %v, %v; want the loopback datagram only", from, err)
	}
	if _, err := c.WriteTo([]byte("x"), lan); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("WriteTo(LAN) = %v, want ErrNotLoopback", err)
	}
	if _, err := c.WriteTo([]byte("x"), lo); err != nil {
		t.Errorf("WriteTo(loopback) = %v", err)
	}
}
